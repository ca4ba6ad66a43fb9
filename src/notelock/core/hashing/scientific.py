"""Values of the scientific stack that notebooks hold: scipy.stats
distributions, matplotlib figures and statsmodels models and results.

* A ``scipy.stats`` distribution (``norm``, ``randint(1, 11)``, ``loguniform``)
  is its family, its name, its shape/loc/scale arguments and its random
  state: ``"global"`` when it draws from NumPy's global RandomState (the
  default), otherwise the state itself.
* A matplotlib artist (``Figure``, ``Axes``, lines, patches, collections,
  images, texts) is the data and text it carries and the properties that
  change what is drawn (colours, styles, limits, scales, labels), then its
  children, recursively. Not covered: the rendering (fonts, DPI, antialiasing,
  layout), tick locations and labels (derived from the limits) and anything
  computed at draw time. Two figures drawn from the same data with the same
  calls hash equal; a changed point, colour, label or limit changes the hash.
* A statsmodels model is its class, its data (``endog``, ``exog`` and their
  names) and its constructor arguments (``_init_keys``: family, weights,
  offsets…); a result is its class, its model, its ``params`` and the
  covariance it was fitted with. Scratch buffers (``np.empty`` arrays a model
  keeps for its own use) and lazily filled caches are not part of either, so
  two identical fits hash equal whether or not a summary was printed.
* A ``joblib.Memory`` (the cache scikit-learn's ``memory=`` parameters take)
  is its class and ``mmap_mode`` (which decides whether cached arrays come
  back memory-mapped): its folder, creation time, verbosity and compression
  decide where and how results are kept, never what they are, so a
  pipeline cached in a fresh temporary folder hashes as the same pipeline.
  A function it caches (``memory.cache(f)``, a ``MemorizedFunc``) is the
  function, the arguments it ignores and ``mmap_mode``, likewise without the
  folder or the time it was made.
* A LightGBM ``Dataset`` is what it was made from (data, label, weights,
  groups, initial scores, positions, feature names, categorical features,
  parameters, ``free_raw_data``, the rows it uses and its reference
  dataset) and whether it has been constructed: its native handle is not a
  value. (A constructed dataset that freed its raw data hashes by the rest.)
"""

from __future__ import annotations

import sys
from typing import Any

from notelock.core.hashing.base import name_text, tag, text
from notelock.core.hashing.encoder import Encoder, handlers
from notelock.core.hashing.names import type_text

_T_DIST = tag("scipy-distribution")
_T_FROZEN = tag("scipy-frozen")
_T_GLOBAL_RNG = tag("global-rng")
_T_ARTIST = tag("mpl-artist")
_T_CACHE = tag("joblib-memory")
_T_LGB_DATASET = tag("lightgbm-dataset")


# ---------------------------------------------------------------- scipy.stats


def _random_state(enc: Encoder, dist: Any) -> None:
    state = getattr(dist, "_random_state", None)
    np = sys.modules.get("numpy")
    glob = getattr(getattr(getattr(np, "random", None), "mtrand", None), "_rand", None)
    if state is None or state is glob:
        enc.h.update(_T_GLOBAL_RNG)
    else:
        enc.encode(state)


def _encode_distribution(enc: Encoder, dist: Any) -> None:
    enc.h.update(_T_DIST + type_text(type(dist)) + text(str(getattr(dist, "name", ""))))
    enc.encode({k: v for k, v in (getattr(dist, "_ctor_param", None) or {}).items() if k != "seed"})
    _random_state(enc, dist)


def _encode_frozen(enc: Encoder, frozen: Any) -> None:
    dist = frozen.dist
    enc.h.update(_T_FROZEN + type_text(type(dist)) + text(str(getattr(dist, "name", ""))))
    enc.encode(tuple(frozen.args))
    enc.encode(dict(frozen.kwds))
    _random_state(enc, dist)


@handlers.register_lazy("scipy.stats._distn_infrastructure")
def _register_scipy_stats() -> None:
    infra = sys.modules["scipy.stats._distn_infrastructure"]
    frozen = getattr(infra, "rv_frozen", None)
    generic = getattr(infra, "rv_generic", None)
    if frozen is not None:
        handlers.register(frozen, subclasses=True)(_encode_frozen)
    if generic is not None:
        handlers.register(generic, subclasses=True)(_encode_distribution)


# ---------------------------------------------------------------- statsmodels

_T_SM_MODEL = tag("statsmodels-model")
_T_SM_RESULTS = tag("statsmodels-results")
_T_SM_WRAPPER = tag("statsmodels-wrapper")


def _encode_sm_model(enc: Encoder, model: Any) -> None:
    if not enc.enter(model):
        return
    try:
        data = getattr(model, "data", None)
        enc.h.update(_T_SM_MODEL + type_text(type(model)))
        enc.encode(getattr(model, "endog", None))
        enc.encode(getattr(model, "exog", None))
        enc.encode([getattr(data, "ynames", None), getattr(data, "xnames", None)])
        keys = [k for k in (getattr(model, "_init_keys", None) or ()) if isinstance(k, str)]
        enc.encode({k: getattr(model, k, None) for k in sorted(set(keys))})
    finally:
        enc.leave(model)


def _encode_sm_results(enc: Encoder, results: Any) -> None:
    if not enc.enter(results):
        return
    try:
        attrs = vars(results)
        enc.h.update(_T_SM_RESULTS + type_text(type(results)))
        enc.encode(attrs.get("model", attrs.get("_model")))
        enc.encode({k: attrs.get(k) for k in ("params", "normalized_cov_params", "cov_type", "cov_kwds")})
    finally:
        enc.leave(results)


def _encode_sm_wrapper(enc: Encoder, wrapper: Any) -> None:
    enc.h.update(_T_SM_WRAPPER + type_text(type(wrapper)))
    enc.encode(object.__getattribute__(wrapper, "_results"))


@handlers.register_lazy("statsmodels.base.model")
def _register_statsmodels() -> None:
    model = sys.modules["statsmodels.base.model"]
    handlers.register(model.Model, subclasses=True)(_encode_sm_model)
    handlers.register(model.Results, subclasses=True)(_encode_sm_results)
    wrapper = sys.modules.get("statsmodels.base.wrapper")
    if wrapper is not None:
        handlers.register(wrapper.ResultsWrapper, subclasses=True)(_encode_sm_wrapper)


# ---------------------------------------------------------------- matplotlib

#: what an artist draws: the getters read, in this order, where the artist has them
ARTIST_PROPERTIES = (
    "size_inches", "xydata", "offsets", "array", "sizes", "paths", "xy", "width", "height", "angle", "center",
    "radius", "extent", "clim", "text", "position", "fontsize", "fontweight", "rotation", "horizontalalignment",
    "title", "xlabel", "ylabel", "xlim", "ylim", "xscale", "yscale", "aspect", "facecolor", "edgecolor", "color",
    "linestyle", "linewidth", "marker", "markersize", "hatch", "alpha", "label", "visible", "zorder",
)


_GETTERS: dict[type, list[tuple[bytes, Any]]] = {}


def _getters(t: type) -> list[tuple[bytes, Any]]:
    found = _GETTERS.get(t)
    if found is None:
        found = [(name_text(p), g) for p in ARTIST_PROPERTIES if (g := getattr(t, "get_" + p, None)) is not None]
        _GETTERS[t] = found
    return found


def _children(artist: Any) -> list[Any]:
    """What an artist draws inside it, without ticks (derived from the limits)
    and without a legend's layout boxes (computed when it is drawn)."""
    legend = sys.modules.get("matplotlib.legend")
    if legend is not None and isinstance(artist, legend.Legend):
        handles = getattr(artist, "legend_handles", None) or getattr(artist, "legendHandles", None) or []
        return [*artist.get_texts(), *handles, artist.get_title()]
    axis = sys.modules.get("matplotlib.axis")
    skip = tuple(t for t in (getattr(axis, "Axis", None), getattr(axis, "Tick", None)) if isinstance(t, type))
    return [c for c in artist.get_children() if not isinstance(c, skip)]


def _encode_artist(enc: Encoder, artist: Any) -> None:
    if not enc.enter(artist):
        return
    enc.shared.spend()
    try:
        update, encode = enc.h.update, enc.encode
        update(_T_ARTIST + type_text(type(artist)))
        for name, getter in _getters(type(artist)):
            try:
                value = getter(artist)
            except Exception:  # noqa: BLE001 - a getter that needs a renderer: not part of the data
                continue
            update(name)
            encode(_plain(value))
        try:
            children = _children(artist)
        except Exception:  # noqa: BLE001
            children = []
        encode(children)
    finally:
        enc.leave(artist)


def _plain(value: Any) -> Any:
    """Getter results as hashable data (matplotlib returns its own small types too)."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    np = sys.modules.get("numpy")
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    vertices = getattr(value, "vertices", None)
    if vertices is not None and np is not None:  # matplotlib.path.Path
        codes = getattr(value, "codes", None)
        return ("path", np.asarray(vertices), None if codes is None else np.asarray(codes))
    return value


@handlers.register_lazy("matplotlib.artist")
def _register_matplotlib() -> None:
    handlers.register(sys.modules["matplotlib.artist"].Artist, subclasses=True)(_encode_artist)


# ---------------------------------------------------------------- joblib.Memory


def _encode_memory(enc: Encoder, memory: Any) -> None:
    enc.h.update(_T_CACHE + type_text(type(memory)) + text(str(getattr(memory, "mmap_mode", None))))


def _encode_memorized(enc: Encoder, memorized: Any) -> None:
    enc.h.update(_T_CACHE + type_text(type(memorized)) + text(str(getattr(memorized, "mmap_mode", None))))
    enc.encode([getattr(memorized, "func", None), list(getattr(memorized, "ignore", None) or [])])


@handlers.register_lazy("joblib.memory")
def _register_joblib_memory() -> None:
    module = sys.modules["joblib.memory"]
    handlers.register(module.Memory, subclasses=True)(_encode_memory)
    for name in ("MemorizedFunc", "NotMemorizedFunc"):
        cls = getattr(module, name, None)
        if isinstance(cls, type):
            handlers.register(cls, subclasses=True)(_encode_memorized)


# ---------------------------------------------------------------- lightgbm.Dataset

_LGB_DATASET_FIELDS = ("data", "label", "weight", "group", "init_score", "position", "feature_name",
                       "categorical_feature", "params", "free_raw_data", "used_indices", "reference")


def _encode_lgb_dataset(enc: Encoder, dataset: Any) -> None:
    constructed = getattr(dataset, "_handle", None) is not None
    enc.h.update(_T_LGB_DATASET + type_text(type(dataset)) + text("constructed" if constructed else "raw"))
    enc.encode({name: getattr(dataset, name, None) for name in _LGB_DATASET_FIELDS})


@handlers.register_lazy("lightgbm.basic")
def _register_lightgbm() -> None:
    handlers.register(sys.modules["lightgbm.basic"].Dataset, subclasses=True)(_encode_lgb_dataset)

