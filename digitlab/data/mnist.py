"""Loading MNIST and deriving the small 20x20 training set of the seed network.

MNIST is looked for in a user-chosen folder, then in Keras's download cache, and only then
downloaded through Keras, so the app works offline once the data is anywhere on disk.
"""

from __future__ import annotations

import gzip
import os
import zipfile
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np

from digitlab.core.errors import UserError
from digitlab.data.batch import downscale_to_20, unit_floats

DATA_DIR_ENV = "DIGITLAB_DATA_DIR"
NPZ_NAME = "mnist.npz"
# Split name -> standard IDX file stem; the .gz suffix is optional.
IDX_STEMS = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
_IDX_UINT8 = 0x08


class DataError(UserError):
    """A problem with the digit data that the user can act on; the message says how."""


class Mnist(NamedTuple):
    """The MNIST arrays: uint8 images (N, 28, 28) and uint8 labels (N,)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


_source_description = "MNIST has not been loaded yet"


def data_source_description() -> str:
    """One line saying where the last `load_mnist` call found its data."""
    return _source_description


# --- IDX files -----------------------------------------------------------------------------


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, gunzipped when its name ends in .gz."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except (gzip.BadGzipFile, zlib.error) as e:
        raise DataError(f"{path} is not a valid gzip file ({e}).") from e
    except EOFError as e:
        raise DataError(f"{path} is a truncated gzip file: it ends before its data.") from e
    except OSError as e:
        raise DataError(f"Could not read {path}: {e}.") from e


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file of unsigned bytes (gzip-compressed or raw) into a read-only array."""
    path = Path(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise DataError(f"{path} is too short to be an IDX file ({len(raw)} bytes).")
    if raw[0] != 0 or raw[1] != 0 or raw[2] != _IDX_UINT8 or raw[3] == 0:
        raise DataError(
            f"{path} is not an IDX file of unsigned bytes: its magic number is "
            f"0x{raw[:4].hex()}, expected 0x000008 followed by the number of dimensions "
            "(0x00000803 for images, 0x00000801 for labels)."
        )
    ndim = raw[3]
    header_len = 4 + 4 * ndim
    if len(raw) < header_len:
        raise DataError(f"{path} is truncated inside its header.")
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(dims, dtype=np.int64))
    actual = len(raw) - header_len
    if actual != expected:
        what = "truncated" if actual < expected else "longer than its header says"
        raise DataError(
            f"{path} is {what}: its header announces shape {dims} ({expected} bytes of "
            f"data) but it holds {actual} bytes."
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header_len).reshape(dims)


def _find_idx_files(folder: Path) -> dict[str, Path | None]:
    """Each split's IDX file in the folder, preferring the .gz name; None where missing."""
    found: dict[str, Path | None] = {}
    for key, stem in IDX_STEMS.items():
        candidates = [folder / f"{stem}.gz", folder / stem]
        found[key] = next((p for p in candidates if p.is_file()), None)
    return found


# --- validation ----------------------------------------------------------------------------


def _check_split(images: np.ndarray, labels: np.ndarray, names: tuple[str, str]) -> None:
    """Raise DataError unless one split holds matching uint8 images and labels 0..9."""
    image_name, label_name = names
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise DataError(
            f"{image_name} does not hold 28x28 uint8 images: "
            f"shape {images.shape}, dtype {images.dtype}."
        )
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise DataError(
            f"{label_name} does not hold a list of uint8 labels: "
            f"shape {labels.shape}, dtype {labels.dtype}."
        )
    if len(images) != len(labels):
        raise DataError(
            f"{image_name} holds {len(images)} images but {label_name} holds {len(labels)} labels."
        )
    if len(labels) and labels.max() > 9:
        raise DataError(f"{label_name} holds label {labels.max()}; digit labels are 0..9.")


def _validated(arrays: dict[str, np.ndarray], names: dict[str, str]) -> Mnist:
    """Check both splits and return them as a read-only Mnist."""
    for split in ("train", "test"):
        _check_split(
            arrays[f"x_{split}"],
            arrays[f"y_{split}"],
            (names[f"x_{split}"], names[f"y_{split}"]),
        )
    for array in arrays.values():
        array.setflags(write=False)
    return Mnist(**{key: arrays[key] for key in Mnist._fields})


# --- sources -------------------------------------------------------------------------------


def _load_idx_folder(files: dict[str, Path]) -> Mnist:
    arrays = {key: read_idx(path) for key, path in files.items()}
    return _validated(arrays, {key: str(path) for key, path in files.items()})


def _load_npz(path: Path) -> Mnist:
    """Read a Keras-style mnist.npz (keys x_train, y_train, x_test, y_test)."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [key for key in Mnist._fields if key not in npz.files]
            if missing:
                raise DataError(f"{path} lacks the array(s) {', '.join(missing)}.")
            arrays = {key: np.array(npz[key]) for key in Mnist._fields}
    except DataError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, OSError) as e:
        raise DataError(f"{path} is not a readable .npz file ({e}).") from e
    return _validated(arrays, {key: f"{path} [{key}]" for key in Mnist._fields})


def keras_cache_path() -> Path:
    """Where `keras.datasets.mnist.load_data()` keeps its download."""
    keras_home = os.environ.get("KERAS_HOME")
    base = Path(keras_home) if keras_home else Path.home() / ".keras"
    return base / "datasets" / NPZ_NAME


def _download_with_keras() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Download MNIST through Keras; kept apart so tests can replace the network call."""
    # Imported here: importing TensorFlow takes seconds and is rarely needed.
    import keras

    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    return x_train, y_train, x_test, y_test


def _load_from_data_dir(folder: Path) -> tuple[Mnist, str]:
    """Load from the DIGITLAB_DATA_DIR folder, or say clearly what is wrong with it."""
    if not folder.is_dir():
        raise DataError(f"{DATA_DIR_ENV} is set to {folder}, which is not a folder.")
    files = _find_idx_files(folder)
    present = {key: path for key, path in files.items() if path is not None}
    if len(present) == len(IDX_STEMS):
        return _load_idx_folder(present), f"IDX files in {folder}"
    if (folder / NPZ_NAME).is_file():
        return _load_npz(folder / NPZ_NAME), f"{folder / NPZ_NAME}"
    missing = [f"{IDX_STEMS[key]}[.gz]" for key, path in files.items() if path is None]
    raise DataError(
        f"{DATA_DIR_ENV} is set to {folder}, but that folder holds neither {NPZ_NAME} nor "
        f"all four MNIST IDX files (missing: {', '.join(missing)}). Put the four files "
        f"train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz "
        f"and t10k-labels-idx1-ubyte.gz (or {NPZ_NAME}) there, or unset {DATA_DIR_ENV}."
    )


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else '(no details)'}"


def _load_from_anywhere() -> tuple[Mnist, str]:
    """Try the data folder, then the Keras cache, then a Keras download."""
    data_dir = os.environ.get(DATA_DIR_ENV)
    if data_dir:
        return _load_from_data_dir(Path(data_dir).expanduser())

    cache = keras_cache_path()
    cache_problem = ""
    if cache.is_file():
        try:
            return _load_npz(cache), f"Keras cache {cache}"
        except DataError as e:
            # Keras re-downloads a cache file whose checksum is wrong, so go on and let it.
            cache_problem = f" (it exists but is unusable: {e})"

    try:
        x_train, y_train, x_test, y_test = _download_with_keras()
    except Exception as e:  # offline, blocked, disk full...: all mean "no data", said plainly
        raise DataError(
            f"Could not find or download the MNIST data. {DATA_DIR_ENV} is not set; the "
            f"Keras cache {cache} was not usable{cache_problem or ' (no such file)'}; and the "
            f"download through Keras failed ({_one_line(e)}). Set {DATA_DIR_ENV} to a folder "
            f"holding the four MNIST IDX files (train-images-idx3-ubyte.gz, "
            f"train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, "
            f"t10k-labels-idx1-ubyte.gz) or {NPZ_NAME}, or connect to the internet and retry."
        ) from e
    arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    arrays = {key: np.array(value) for key, value in arrays.items()}
    names = {key: f"Keras download [{key}]" for key in arrays}
    return _validated(arrays, names), f"Keras download (cached at {cache})"


@lru_cache(maxsize=1)
def load_mnist() -> Mnist:
    """MNIST as read-only uint8 arrays, loaded once per process (clear: `.cache_clear()`)."""
    global _source_description
    mnist, source = _load_from_anywhere()
    _source_description = (
        f"MNIST ({len(mnist.x_train)} train / {len(mnist.x_test)} test) from {source}"
    )
    return mnist


# --- the 20x20 set of the seed network -----------------------------------------------------


def tiny20_dataset(size: int = 5000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`size` MNIST training digits at 20x20, size//10 per class, chosen reproducibly.

    Returns x float32 (size, 20, 20) in [0, 1] and y uint8 (size,), ordered by class and
    then by MNIST index; both read-only. Not cached: it takes a fraction of a second.
    """
    if size <= 0 or size % 10:
        raise ValueError(f"size must be a positive multiple of 10, got {size}")
    per_class = size // 10
    mnist = load_mnist()
    rng = np.random.default_rng(seed)
    chosen = []
    for digit in range(10):
        candidates = np.flatnonzero(mnist.y_train == digit)
        if per_class > len(candidates):
            raise ValueError(
                f"MNIST has only {len(candidates)} training images of {digit}, "
                f"fewer than the {per_class} asked for"
            )
        chosen.append(np.sort(rng.choice(candidates, size=per_class, replace=False)))
    index = np.concatenate(chosen)
    x = downscale_to_20(mnist.x_train[index])
    y = mnist.y_train[index].copy()
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y


# --- the prepared split a run trains, validates and tests on --------------------------------


@dataclass(frozen=True)
class Split:
    """Float images in [0, 1] with a channel axis, at the model's input size, and labels."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def prepare_split(input_size: int, train_samples: int, validation_split: float, seed: int) -> Split:
    """The first `train_samples` of a seeded shuffle, the last `validation_split` of them
    held out for validation, and the 10,000 MNIST test images."""
    mnist = load_mnist()
    if input_size == 20:
        x_all, y_all = tiny20_dataset()
        x_test = downscale_to_20(mnist.x_test)
        order = np.random.default_rng(seed).permutation(len(x_all))[:train_samples]
        x_all, y_all = x_all[order], y_all[order]
    else:
        # Shuffle the bytes, then convert once in place: a third of the time of converting
        # all 60,000 images to float first (this runs at the start of every training job).
        order = np.random.default_rng(seed).permutation(len(mnist.x_train))[:train_samples]
        x_all, y_all = unit_floats(mnist.x_train[order]), mnist.y_train[order]
        x_test = unit_floats(mnist.x_test)
    n_train = len(x_all) - int(round(len(x_all) * validation_split))
    return Split(
        x_train=x_all[:n_train, ..., None],
        y_train=y_all[:n_train],
        x_val=x_all[n_train:, ..., None],
        y_val=y_all[n_train:],
        x_test=np.asarray(x_test, np.float32)[..., None],
        y_test=np.asarray(mnist.y_test),
    )
