"""The runtime: devices, CPU device count, PJRT plugin discovery, the persistent compilation
cache, and the jaxlib facts ember relies on."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import ember.core as ec
from ember.core._src.runtime import jaxlib_compat, plugins


def run_python(code: str, env: dict[str, str] | None = None, timeout: int = 120) -> str:
    full_env = dict(os.environ)
    full_env.update(env or {})
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                            env=full_env, timeout=timeout)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_cpu_backend_and_devices():
    assert ec.default_backend() == "cpu"
    devices = ec.devices()
    assert len(devices) == ec.device_count() >= 1
    assert devices[0].platform == "cpu" and ec.local_devices()[0] == devices[0]
    assert ec.process_index() == 0 and ec.process_count() == 1


def test_number_of_cpu_devices_from_environment():
    out = run_python("""
        import ember.core as ec, ember.core.numpy as jnp
        print(ec.device_count(), ec.devices()[3].id)
        x = ec.device_put(jnp.arange(3.0), ec.devices()[3])
        print(x.device.id, (x * 2).device.id, ec.jit(lambda v: v + 1)(x).device.id)
    """, env={"EMBER_NUM_CPU_DEVICES": "4"})
    assert out.split() == ["4", "3", "3", "3", "3"]


def test_num_cpu_devices_cannot_change_after_first_use():
    ec.devices()
    with pytest.raises(RuntimeError, match="must be set before the first use"):
        ec.config.update("num_cpu_devices", 17)
    with pytest.raises(ValueError, match="positive int"):
        ec.config.update("num_cpu_devices", 0)


def test_config_update_rejects_unknown_flags():
    with pytest.raises(ValueError, match="unknown flag 'enable_x32'"):
        ec.config.update("enable_x32", True)


def test_plugin_discovery_with_fake_installations(tmp_path: Path):
    cuda = tmp_path / "site" / "jax_plugins" / "xla_cuda12"
    cuda.mkdir(parents=True)
    (cuda / "xla_cuda_plugin.so").write_bytes(b"")
    (tmp_path / "site" / "jax_plugins" / "not_a_plugin").mkdir()
    tpu = tmp_path / "site2" / "libtpu"
    tpu.mkdir(parents=True)
    (tpu / "libtpu.so").write_bytes(b"")
    found = plugins.discover_plugins([str(tmp_path / "site"), str(tmp_path / "site2")], environ={})
    assert set(found) == {"cuda", "tpu"}
    assert found["cuda"].library == cuda / "xla_cuda_plugin.so"
    assert found["tpu"].priority > found["cuda"].priority
    override = plugins.discover_plugins([str(tmp_path / "site")], environ={"EMBER_PJRT_PLUGINS": "cuda:/opt/x.so"})
    assert override["cuda"].library == Path("/opt/x.so") and override["cuda"].origin == "EMBER_PJRT_PLUGINS"
    with pytest.raises(ValueError, match="expected entries 'platform:/path/to/plugin.so'"):
        plugins.discover_plugins([], environ={"EMBER_PJRT_PLUGINS": "justapath.so"})
    assert plugins.discover_plugins([], environ={}) == {}


def test_a_broken_plugin_is_reported_clearly(tmp_path: Path):
    lib = tmp_path / "missing.so"
    with pytest.raises(FileNotFoundError, match="PJRT plugin for 'cuda' not found"):
        plugins.load_plugin_client(plugins.PluginLibrary("cuda", lib, "test"))


def test_persistent_compilation_cache_survives_a_restart(tmp_path: Path):
    code = f"""
        import ember.core as ec, ember.core.numpy as jnp
        from ember.core._src.runtime import compiler
        ec.config.update("compilation_cache_dir", {str(tmp_path)!r})
        f = ec.jit(lambda x: jnp.tanh(x) * 3 + 1)
        print(float(f(jnp.float32(0.5) if hasattr(jnp, 'float32') else jnp.asarray(0.5))), compiler.cache_stats())
    """
    first = run_python(code)
    entries = list(tmp_path.glob("*.exe"))
    assert entries, "the first run should write cache entries"
    second = run_python(code)
    assert first.split()[0] == second.split()[0]
    assert "'hits': 0" in first and "'hits': 0" not in second
    # a corrupt entry is a miss, never a crash
    for e in entries:
        e.write_bytes(b"garbage")
    third = run_python(code)
    assert third.split()[0] == first.split()[0] and "'errors': 0" not in third


def test_result_handler_shim_matches_this_jaxlib():
    handler = jaxlib_compat.result_handler(ec.numpy.zeros(2).aval, ec.numpy.zeros(2)._buf._sharding, True)
    assert handler is not None
    assert jaxlib_compat.JAXLIB_VERSION >= (0, 10, 0)


@pytest.mark.skipif(importlib.util.find_spec("jax") is not None,
                    reason="jax is installed here: jaxlib itself imports it on the first device-to-host copy")
def test_no_jax_is_imported():
    out = run_python("""
        import sys, ember.core as ec, ember.core.numpy as jnp
        ec.jit(lambda x: x * 2)(jnp.ones(2)).block_until_ready()
        ec.grad(lambda x: (x * x))(1.0)
        float(ec.numpy.ones(()))  # a device-to-host copy: jaxlib looks jax modules up there
        print(any((m == 'jax' or m.startswith('jax.')) and sys.modules[m] is not None for m in sys.modules))
    """)
    assert out.strip() == "False"


@pytest.mark.skipif(importlib.util.find_spec("jax") is not None, reason="jax is installed here")
def test_jaxlib_lookups_of_absent_jax_modules_fail_without_searching():
    # jaxlib's C++ tries to import jax modules on every first device-to-host copy of an array; where
    # jax is absent each try used to walk the import system (~90 us a copy, 10x the copy itself).
    out = run_python("""
        import sys, ember.core as ec, ember.core.numpy as jnp
        searched = []
        class Recorder:
            def find_spec(self, name, path=None, target=None):
                searched.append(name)
        xs = [jnp.arange(3.0) + i for i in range(20)]
        sys.meta_path.insert(0, Recorder())
        values = [float(x[1]) for x in xs]
        print(values == [1.0 + i for i in range(20)], [n for n in searched if n.startswith('jax')])
    """)
    assert out.strip() == "True []"


def test_device_put_and_get_pytrees():
    tree = {"a": np.arange(3, dtype=np.float32), "b": (1.5, np.int32(2))}
    on_device = ec.device_put(tree)
    assert isinstance(on_device["a"], ec.Array) and isinstance(on_device["b"][0], ec.Array)
    back = ec.device_get(on_device)
    np.testing.assert_array_equal(back["a"], tree["a"])
    assert isinstance(back["a"], np.ndarray)
    assert ec.block_until_ready(on_device) is on_device
    with pytest.raises(TypeError, match="device must be a Device or a Sharding"):
        ec.device_put(1.0, "cpu:0")
