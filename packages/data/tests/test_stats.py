import json

from ember_data_testing import normalize

import ember.data as ed


def test_stats_dict_and_table(images):
    ds = (ed.MapDataset.source(images).map(normalize).to_iter_dataset()
          .filter(lambda r: r["label"] % 2 == 0).batch(10))
    it = iter(ds)
    out = list(it)
    s = it.stats()
    json.dumps(s)
    names = [r["name"] for r in s["stages"]]
    assert s["elements"] == len(out) == 10
    assert any(n.startswith("filter(") for n in names) and any(n.startswith("read(") for n in names)
    for r in s["stages"]:
        assert r["self_time_s"] >= 0 and 0 <= r["share"] <= 1
    read = next(r for r in s["stages"] if r["name"].startswith("read("))
    assert read["elements"] == 200
    assert s["bottleneck"] in names
    table = it.stats_table()
    assert "elem/s" in table and "bottleneck:" in table and len(table.splitlines()) == len(names) + 3


def test_queue_fullness_reported_for_prefetch():
    it = iter(ed.MapDataset.range(100).to_iter_dataset().pack(4).prefetch(4)) if False else iter(
        ed.IterDataset.mix([ed.MapDataset.range(100).to_iter_dataset()]).prefetch(4))
    list(it)
    rows = it.stats()["stages"]
    assert rows[0]["queue_fill"] is not None and 0 <= rows[0]["queue_fill"] <= 1


def test_graph_text():
    ds = ed.IterDataset.mix([ed.MapDataset.range(3).to_iter_dataset(), ed.MapDataset.range(2).shuffle(seed=1).to_iter_dataset()])
    lines = ds.batch(2).graph().splitlines()
    assert lines[0].startswith("batch(2") and lines[1].startswith("└─ MixedIterDataset")
    assert any("├─ MapToIterDataset" in l for l in lines) and any("ShuffleMapDataset(seed=1)" in l for l in lines)
