"""The model store: atomic writes, incomplete entries ignored, broken files skipped."""

import json
import os

import numpy as np
import pytest

from digitlab import store
from digitlab.config import TrainConfig
from digitlab.models import ZOO


@pytest.fixture
def shipped_dir(tmp_path, monkeypatch):
    folder = tmp_path / "assets_models"
    monkeypatch.setattr(store, "SHIPPED_DIR", folder)
    return folder


def save_untrained(name, root, folder=None, **changes):
    config = TrainConfig(model=name, **changes)
    model = ZOO[name].build()
    return store.save(model, config, {"loss": [1.0]}, {"accuracy": 0.5}, root=root, folder=folder)


def test_saved_entries_round_trip(private_store):
    entry = save_untrained("tiny20", private_store)
    found = store.find(entry.config)
    assert found is not None and found.metrics["accuracy"] == 0.5
    assert found.history == {"loss": [1.0]}
    model = found.load()
    assert model.count_params() == ZOO["tiny20"].build().count_params()


def test_a_write_interrupted_midway_leaves_nothing_loadable(private_store, monkeypatch):
    config = TrainConfig(model="tiny20", seed=7)
    real_write = store._write_json

    def crash_on_metrics(path, value):
        if path.name == store.METRICS_FILE:
            raise KeyboardInterrupt("simulated crash while writing")
        real_write(path, value)

    monkeypatch.setattr(store, "_write_json", crash_on_metrics)
    with pytest.raises(KeyboardInterrupt):
        store.save(ZOO["tiny20"].build(), config, {}, {}, root=private_store)
    assert store.find(config) is None
    assert store.trained() == []
    assert list(private_store.iterdir()) == []  # the temporary folder was removed too


def test_folders_a_hard_kill_left_behind_are_ignored_and_cleaned(private_store):
    half_written = private_store / ".tmp-abc123"
    half_written.mkdir(parents=True)
    (half_written / store.MODEL_FILE).write_bytes(b"PK\x03\x04 truncated")
    no_metrics = private_store / TrainConfig(model="mlp").key()
    no_metrics.mkdir()
    (no_metrics / "config.json").write_text(json.dumps(TrainConfig(model="mlp").to_dict()))
    assert store.trained() == []
    assert store.find(TrainConfig(model="mlp")) is None
    old = 0
    os.utime(half_written, (old, old))
    store.clean_temporaries()
    assert not half_written.exists()


def test_a_corrupt_model_file_is_skipped_with_a_warning(private_store, shipped_dir):
    shipped = save_untrained("tiny20", shipped_dir, folder="tiny20")
    broken = save_untrained("tiny20", private_store, seed=3)
    broken.model_file.write_bytes(b"this is not a keras zip file")
    assert store.candidates("tiny20")[0].path == broken.path  # the newest is preferred...
    entry, model, warnings = store.load_preferred("tiny20")
    assert entry.path == shipped.path  # ...but it does not load, so the shipped one is used
    assert len(warnings) == 1 and "broken" in warnings[0]
    assert np.asarray(model(np.zeros((1, 20, 20, 1), np.float32))).shape == (1, 10)


def test_no_usable_model_is_a_clear_error(private_store, shipped_dir):
    with pytest.raises(store.StoreError, match="No usable model for 'cnn'"):
        store.load_preferred("cnn")
