"""ember.nn: object-oriented neural networks on ember.core, in the style of Flax NNX.

Models are plain Python objects (``nn.Module``) holding ``Variable``s; graph functions
(``split``/``merge``/``state``/``update``/``clone``/``iter_graph``/``pop``) turn a module graph into
``(graphdef, state)`` and back; lifted transforms (``nn.jit``, ``nn.grad``, ``nn.vmap``,
``nn.scan``, ``nn.remat``, ``nn.cond``) take modules as arguments and write state changes back.

    >>> import ember.core.numpy as jnp
    >>> import ember.nn as nn
    >>> model = nn.Sequential(nn.Linear(2, 8, rngs=nn.Rngs(0)), nn.relu, nn.Linear(8, 1, rngs=nn.Rngs(1)))
    >>> @nn.jit
    ... def loss(model, x):
    ...     return (model(x) ** 2).mean()
    >>> float(loss(model, jnp.zeros((4, 2))))
    0.0
"""

__version__ = "0.1.0"

from ember.core.nn import (  # noqa: F401  activations, re-exported
    celu,
    elu,
    gelu,
    glu,
    hard_sigmoid,
    hard_silu,
    hard_swish,
    hard_tanh,
    identity,
    leaky_relu,
    log_sigmoid,
    log_softmax,
    logsumexp,
    mish,
    one_hot,
    relu,
    relu6,
    selu,
    sigmoid,
    silu,
    soft_sign,
    softmax,
    softplus,
    standardize,
    swish,
    tanh,
)
from ember.nn import (
    initializers,  # noqa: F401
    metrics,  # noqa: F401
)
from ember.nn._src.filters import (  # noqa: F401
    All,
    Any,
    Everything,
    Not,
    Nothing,
    OfType,
    PathContains,
    PathRegex,
    WithTag,
    to_predicate,
)
from ember.nn._src.graph import (  # noqa: F401
    GraphDef,
    clone,
    find_duplicates,
    graphdef,
    iter_children,
    iter_graph,
    iter_modules,
    merge,
    pop,
    recursive_map,
    split,
    state,
    update,
    variables,
)
from ember.nn._src.jit import jit  # noqa: F401
from ember.nn._src.layers.activations import PReLU  # noqa: F401
from ember.nn._src.layers.attention import (  # noqa: F401
    MultiHeadAttention,
    combine_masks,
    dot_product_attention,
    dot_product_attention_weights,
    make_attention_mask,
    make_causal_mask,
)
from ember.nn._src.layers.conv import Conv, ConvTranspose  # noqa: F401
from ember.nn._src.layers.dtypes import promote_dtype  # noqa: F401
from ember.nn._src.layers.linear import Einsum, Embed, Linear, LinearGeneral  # noqa: F401
from ember.nn._src.layers.lora import LoRA, LoRALinear, LoRAParam  # noqa: F401
from ember.nn._src.layers.normalization import BatchNorm, GroupNorm, LayerNorm, RMSNorm  # noqa: F401
from ember.nn._src.layers.pooling import avg_pool, max_pool, min_pool, pool  # noqa: F401
from ember.nn._src.layers.recurrent import (  # noqa: F401
    RNN,
    Bidirectional,
    GRUCell,
    LSTMCell,
    OptimizedLSTMCell,
    RNNCellBase,
    SimpleCell,
)
from ember.nn._src.layers.sequential import Sequential  # noqa: F401
from ember.nn._src.layers.stochastic import Dropout  # noqa: F401
from ember.nn._src.metrics import Metric, MultiMetric  # noqa: F401
from ember.nn._src.module import Dict, List, Module, Object, data  # noqa: F401
from ember.nn._src.optimizer import OptArray, Optimizer, OptState, OptVariable  # noqa: F401
from ember.nn._src.rngs import (  # noqa: F401
    RngCount,
    RngKey,
    Rngs,
    RngState,
    RngStream,
    fork_rngs,
    reseed,
    restore_rngs,
    split_rngs,
)
from ember.nn._src.spmd import (  # noqa: F401
    abstract_with_sharding,
    create_sharded_model,
    get_abstract_model,
    get_logical_axis_rules,
    get_named_sharding,
    get_partition_spec,
    logical_axis_rules,
    logical_to_mesh_axes,
    with_partitioning,
)
from ember.nn._src.state import (  # noqa: F401
    FlatState,
    State,
    filter_state,
    from_flat_state,
    map_state,
    merge_state,
    replace_by_pure_dict,
    split_state,
    to_flat_state,
    to_pure_dict,
)
from ember.nn._src.tracking import version as graph_version  # noqa: F401
from ember.nn._src.transforms import (  # noqa: F401
    Carry,
    DiffState,
    StateAxes,
    cond,
    eval_shape,
    grad,
    remat,
    scan,
    switch,
    value_and_grad,
    vmap,
)
from ember.nn._src.variables import (  # noqa: F401
    BatchStat,
    Cache,
    Intermediate,
    Param,
    Perturbation,
    Variable,
    VariableMetadata,
    with_metadata,
)

checkpoint = remat  # NNX alias

__all__ = [name for name in dir() if not name.startswith("_")]
