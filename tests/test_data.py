"""Tests for digitlab.data.mnist: MNIST loading from every source, validation, the 20x20 set."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from digitlab.data import mnist as data
from digitlab.data.batch import downscale_to_20, model_batch
from digitlab.data.mnist import DataError, load_mnist, read_idx, tiny20_dataset

REAL_MNIST = Path(__file__).resolve().parents[2] / "shared/data/mnist"
needs_real_mnist = pytest.mark.skipif(
    not (REAL_MNIST / "train-images-idx3-ubyte.gz").is_file(),
    reason=f"the full MNIST files are not at {REAL_MNIST}",
)


def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file of unsigned bytes holding the array."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_idx(path: Path, array: np.ndarray) -> Path:
    raw = idx_bytes(array)
    path.write_bytes(gzip.compress(raw) if path.suffix == ".gz" else raw)
    return path


def tiny_arrays() -> dict[str, np.ndarray]:
    """5 train and 3 test images whose pixels encode their position, with known labels."""
    x = (np.arange(8 * 28 * 28) % 251).astype(np.uint8).reshape(8, 28, 28)
    return {
        "x_train": x[:5],
        "y_train": np.array([3, 1, 4, 1, 5], dtype=np.uint8),
        "x_test": x[5:],
        "y_test": np.array([9, 2, 6], dtype=np.uint8),
    }


def write_idx_folder(folder: Path, arrays: dict[str, np.ndarray], gz: bool = True) -> Path:
    for key, stem in data.IDX_STEMS.items():
        write_idx(folder / (stem + (".gz" if gz else "")), arrays[key])
    return folder


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """No real Keras cache, no network, and a fresh load cache around every test."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.delenv(data.DATA_DIR_ENV, raising=False)

    def no_network():
        raise OSError("network is unreachable")

    monkeypatch.setattr(data, "_download_with_keras", no_network)
    load_mnist.cache_clear()
    yield
    load_mnist.cache_clear()


def use_data_dir(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    monkeypatch.setenv(data.DATA_DIR_ENV, str(folder))


def assert_same(mnist: data.Mnist, arrays: dict[str, np.ndarray]) -> None:
    for key in data.Mnist._fields:
        got = getattr(mnist, key)
        assert got.dtype == np.uint8
        np.testing.assert_array_equal(got, arrays[key])
        assert not got.flags.writeable


@pytest.mark.parametrize("gz", [True, False])
def test_idx_folder_loads_exactly(monkeypatch, tmp_path, gz):
    arrays = tiny_arrays()
    use_data_dir(monkeypatch, write_idx_folder(tmp_path, arrays, gz=gz))
    assert_same(load_mnist(), arrays)
    assert str(tmp_path) in data.data_source_description()
    assert load_mnist() is load_mnist()  # cached


def test_npz_folder_loads_exactly(monkeypatch, tmp_path):
    arrays = tiny_arrays()
    np.savez(tmp_path / "mnist.npz", **arrays)
    use_data_dir(monkeypatch, tmp_path)
    assert_same(load_mnist(), arrays)
    assert "mnist.npz" in data.data_source_description()


def test_keras_cache_is_used(monkeypatch, tmp_path):
    arrays = tiny_arrays()
    cache = tmp_path / "keras_home" / "datasets" / "mnist.npz"
    cache.parent.mkdir(parents=True)
    np.savez(cache, **arrays)
    assert_same(load_mnist(), arrays)
    assert "Keras cache" in data.data_source_description()


def test_keras_cache_under_home_when_keras_home_unset(monkeypatch, tmp_path):
    monkeypatch.delenv("KERAS_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert data.keras_cache_path() == tmp_path / ".keras" / "datasets" / "mnist.npz"


def test_download_is_the_last_resort(monkeypatch):
    arrays = tiny_arrays()
    monkeypatch.setattr(data, "_download_with_keras", lambda: tuple(arrays.values()))
    assert_same(load_mnist(), arrays)
    assert "download" in data.data_source_description()


def test_offline_with_nothing_local_explains_where_it_looked(tmp_path):
    with pytest.raises(DataError) as caught:
        load_mnist()
    message = str(caught.value)
    assert data.DATA_DIR_ENV in message
    assert str(tmp_path / "keras_home" / "datasets" / "mnist.npz") in message
    assert "network is unreachable" in message


def test_empty_data_dir_is_reported(monkeypatch, tmp_path):
    use_data_dir(monkeypatch, tmp_path)
    with pytest.raises(DataError, match=data.DATA_DIR_ENV):
        load_mnist()


def test_data_dir_that_is_not_a_folder(monkeypatch, tmp_path):
    use_data_dir(monkeypatch, tmp_path / "nowhere")
    with pytest.raises(DataError, match="not a folder"):
        load_mnist()


def test_bad_magic_number_names_the_file(tmp_path):
    path = tmp_path / "labels.gz"
    path.write_bytes(gzip.compress(b"\x00\x00\x0d\x01" + struct.pack(">I", 2) + b"\x01\x02"))
    with pytest.raises(DataError, match="magic number") as caught:
        read_idx(path)
    assert str(path) in str(caught.value)


def test_truncated_payload_names_the_file(tmp_path):
    path = tmp_path / "images"
    path.write_bytes(idx_bytes(np.zeros((3, 28, 28), np.uint8))[:-10])
    with pytest.raises(DataError, match="truncated") as caught:
        read_idx(path)
    assert str(path) in str(caught.value)


def test_truncated_gzip_names_the_file(tmp_path):
    path = tmp_path / "images.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros((3, 28, 28), np.uint8)))[:-20])
    with pytest.raises(DataError) as caught:
        read_idx(path)
    assert str(path) in str(caught.value)


def test_text_file_named_gz(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_text("<html>404 not found</html>")
    with pytest.raises(DataError, match="gzip") as caught:
        read_idx(path)
    assert str(path) in str(caught.value)


def test_label_out_of_range(monkeypatch, tmp_path):
    arrays = tiny_arrays()
    arrays["y_test"] = np.array([9, 10, 6], dtype=np.uint8)
    use_data_dir(monkeypatch, write_idx_folder(tmp_path, arrays))
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz"):
        load_mnist()


def test_image_and_label_counts_must_match(monkeypatch, tmp_path):
    arrays = tiny_arrays()
    arrays["y_train"] = arrays["y_train"][:4]
    use_data_dir(monkeypatch, write_idx_folder(tmp_path, arrays))
    with pytest.raises(DataError, match="4 labels"):
        load_mnist()


def test_images_must_be_28x28(monkeypatch, tmp_path):
    arrays = tiny_arrays()
    arrays["x_test"] = np.zeros((3, 20, 20), np.uint8)
    use_data_dir(monkeypatch, write_idx_folder(tmp_path, arrays))
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte.gz"):
        load_mnist()


def test_npz_missing_key_names_the_file(monkeypatch, tmp_path):
    arrays = tiny_arrays()
    del arrays["y_test"]
    np.savez(tmp_path / "mnist.npz", **arrays)
    use_data_dir(monkeypatch, tmp_path)
    with pytest.raises(DataError, match="y_test") as caught:
        load_mnist()
    assert str(tmp_path / "mnist.npz") in str(caught.value)


def test_npz_wrong_shape(monkeypatch, tmp_path):
    arrays = tiny_arrays()
    arrays["x_train"] = arrays["x_train"].reshape(5, 784)
    np.savez(tmp_path / "mnist.npz", **arrays)
    use_data_dir(monkeypatch, tmp_path)
    with pytest.raises(DataError, match="x_train"):
        load_mnist()


def test_corrupt_npz(monkeypatch, tmp_path):
    (tmp_path / "mnist.npz").write_bytes(b"PK\x03\x04 definitely not a zip archive")
    use_data_dir(monkeypatch, tmp_path)
    with pytest.raises(DataError, match="mnist.npz"):
        load_mnist()


def test_downscale_keeps_a_constant_image_constant():
    for image in (np.full((28, 28), 200, np.uint8), np.full((4, 28, 28), 0.3, np.float32)):
        small = downscale_to_20(image)
        assert small.dtype == np.float32
        assert small.shape == image.shape[:-2] + (20, 20)
        expected = image.flat[0] / (255 if image.dtype == np.uint8 else 1)
        np.testing.assert_allclose(small, expected, rtol=1e-6)  # float32 holds ~7 digits


def test_downscale_averages_areas():
    # 7 input pixels are exactly 5 output pixels (28/20 = 1.4), so a 7x7 block maps to 5x5.
    block = np.zeros((28, 28), np.uint8)
    block[:7, :7] = 255
    expected = np.zeros((20, 20))
    expected[:5, :5] = 1
    np.testing.assert_allclose(downscale_to_20(block), expected, atol=1e-6)

    # A lone pixel at (1, 1) spans [1, 2]: 0.4 of it falls in output cell 0 ([0, 1.4])
    # and 0.6 in cell 1 ([1.4, 2.8]); each cell's area is 1.4 x 1.4.
    dot = np.zeros((28, 28), np.float32)
    dot[1, 1] = 1.0
    share = np.array([0.4, 0.6]) / 1.4
    expected = np.zeros((20, 20))
    expected[:2, :2] = np.outer(share, share)
    np.testing.assert_allclose(downscale_to_20(dot), expected, atol=1e-6)


def test_downscale_rejects_other_shapes():
    with pytest.raises(ValueError):
        downscale_to_20(np.zeros((20, 20)))


@pytest.fixture
def real_mnist(monkeypatch) -> data.Mnist:
    use_data_dir(monkeypatch, REAL_MNIST)
    return load_mnist()


@needs_real_mnist
def test_real_mnist(real_mnist):
    assert real_mnist.x_train.shape == (60000, 28, 28)
    assert real_mnist.x_test.shape == (10000, 28, 28)
    train_counts = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    test_counts = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert np.bincount(real_mnist.y_train).tolist() == train_counts
    assert np.bincount(real_mnist.y_test).tolist() == test_counts


@needs_real_mnist
def test_tiny20_dataset(real_mnist):
    x, y = tiny20_dataset()
    assert x.shape == (5000, 20, 20) and x.dtype == np.float32
    assert y.shape == (5000,) and y.dtype == np.uint8
    assert np.bincount(y).tolist() == [500] * 10
    assert np.all(np.diff(y.astype(int)) >= 0)  # ordered by class
    assert x.min() >= 0.0 and x.max() <= 1.0 and x.max() > 0.9

    x_again, y_again = tiny20_dataset(seed=0)
    np.testing.assert_array_equal(x, x_again)
    np.testing.assert_array_equal(y, y_again)
    x_other, _ = tiny20_dataset(seed=1)
    assert not np.array_equal(x, x_other)


def test_tiny20_size_must_split_into_classes():
    with pytest.raises(ValueError):
        tiny20_dataset(size=5005)


def test_model_batch_gives_every_model_its_own_input():
    """One 28x28 drawing or many, bytes or floats -> float32 (N, size, size, 1) in [0, 1]."""
    drawing = np.zeros((28, 28), np.uint8)
    drawing[7:21, 7:21] = 255  # a square of ink: its mean stays 14*14/28**2 at any size
    one = model_batch(drawing, 28)
    assert one.shape == (1, 28, 28, 1) and one.dtype == np.float32
    np.testing.assert_array_equal(one[0, ..., 0], drawing / 255)
    many = model_batch(np.stack([drawing / 255] * 3), 20)
    assert many.shape == (3, 20, 20, 1) and many.dtype == np.float32
    assert many.mean() == pytest.approx(14 * 14 / 28**2, abs=1e-6)
    np.testing.assert_array_equal(many[0, ..., 0], downscale_to_20(drawing))
