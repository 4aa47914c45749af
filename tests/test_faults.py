"""Faults: a training process killed with SIGKILL leaves a store that still works."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from digitlab import store
from digitlab.config import TrainConfig
from digitlab.train import train

ROOT = Path(__file__).resolve().parents[1]


def test_sigkill_in_the_middle_of_training_leaves_no_half_written_model(mnist, private_store):
    before = train(TrainConfig(model="tiny20", epochs=1, train_samples=500)).entry
    env = {**os.environ, "DIGITLAB_STORE_DIR": str(private_store)}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "digitlab",
            "train",
            "--model",
            "mlp_small",
            "--epochs",
            "50",
            "--samples",
            "60000",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(12)  # past start-up, into the epochs
    assert process.poll() is None, "the run ended before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)

    entries = store.trained()
    assert [entry.path for entry in entries] == [before.path]  # nothing new, nothing partial
    for entry in entries:
        entry.load()  # every listed model loads
    assert store.find(TrainConfig(model="mlp_small", epochs=50)) is None

    app = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120)
    app.session_state["model_name"] = "mlp_small"
    app.run()
    assert not app.exception and not app.error
    assert any("(shipped)" in caption.value for caption in app.caption)
