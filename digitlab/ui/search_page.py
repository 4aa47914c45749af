"""The Search page: ranges for a few settings of one architecture, then the trials, live."""

from __future__ import annotations

import streamlit as st

from digitlab.store.limits import LimitError
from digitlab.training.search import MAX_TRIALS, Search, SearchSettings, SearchSpace
from digitlab.training.search_space import expected_seconds, seconds_per_trial
from digitlab.ui import state
from digitlab.ui.resources import job_queue
from digitlab.ui.retrain import BATCH_SIZES, LEARNING_RATES, WIDTHS, starting_config
from digitlab.ui.search_charts import score_against_settings
from digitlab.zoo.config import OPTIMIZERS, ConfigError
from digitlab.zoo.registry import DEFAULT_MODEL, ZOO

POLL_SECONDS = 1.0
L2_VALUES = [1e-6, 1e-5, 1e-4, 1e-3, 1e-2]


@st.cache_resource
def _searches() -> dict[str, Search]:
    """Each workspace's latest search, by its id: a reload finds it again, no one else does."""
    return {}


def my_search() -> Search | None:
    return _searches().get(state.session_owner())


def duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


def log_range(label: str, values: list[float], default: tuple[float, float], key: str, **options):
    """A (low, high) range picked among values spread on a log scale."""
    return st.select_slider(
        label, values, value=default, format_func=lambda value: f"{value:g}", key=key, **options
    )


def settings_widgets() -> SearchSettings | None:
    """The architecture, ranges, trials and budget; None (with the reason) when invalid."""
    model = st.selectbox(
        "Architecture",
        list(ZOO),
        index=list(ZOO).index(DEFAULT_MODEL),
        format_func=lambda name: f"{name}: {ZOO[name].title}",
        key=state.SEARCH_MODEL_KEY,
    )
    base = starting_config(model)
    left, right = st.columns(2)
    trials = left.number_input(
        f"Trials (at most {MAX_TRIALS})", 1, MAX_TRIALS, 10, key="search_trials"
    )
    budget = right.number_input("Time budget, minutes (0 = none)", 0, 600, 0, key="search_budget")
    # Keyed by model: another architecture starts from its own recipe's values.
    epochs = left.number_input(
        "Epochs per trial", 1, 100, base.epochs, key=f"search_epochs_{model}"
    )
    samples = right.number_input(
        "Training images per trial",
        100,
        60_000,
        base.train_samples,
        step=1000,
        key=f"search_images_{model}",
    )
    st.markdown("**Ranges** (each trial samples one value of each)")
    learning_rate = log_range(
        "Learning rate (log scale)", LEARNING_RATES, (1e-4, 1e-2), "search_lr"
    )
    has_dropout = ZOO[model].has_dropout
    dropout = st.slider(
        "Dropout",
        0.0,
        0.9,
        (0.0, 0.5),
        step=0.05,
        key="search_dropout",
        disabled=not has_dropout,
        help=None if has_dropout else f"{model} has no dropout layer: not searched.",
    )
    batch_sizes = st.multiselect("Batch sizes", BATCH_SIZES, [64, 128, 256], key="search_batches")
    search_l2 = st.checkbox("Search L2 weight decay", key="search_use_l2")
    l2 = log_range("L2 (log scale)", L2_VALUES, (1e-5, 1e-3), "search_l2", disabled=not search_l2)
    optimizers = st.multiselect(
        "Optimizers (none chosen: the recipe's)", OPTIMIZERS, key="search_optimizers"
    )
    widths = st.multiselect(
        "Widths (none chosen: as designed)",
        WIDTHS,
        key="search_widths",
        help="Multiply every hidden layer's units and filters: 2 doubles them (slower).",
    )
    try:
        return SearchSettings(
            base.replace(epochs=int(epochs), train_samples=int(samples)),
            SearchSpace(
                learning_rate=learning_rate,
                dropout=dropout if has_dropout else None,
                batch_sizes=tuple(batch_sizes),
                l2=l2 if search_l2 else None,
                optimizers=tuple(optimizers),
                widths=tuple(widths),
            ),
            trials=int(trials),
            budget_s=budget * 60 or None,
        )
    except ConfigError as error:
        st.error(str(error))
        return None


def _use(model: str, run_id: str) -> None:
    state.adopt_finished_run(model, run_id, hold_back_broken=False)  # this run, picked


def show_best(snapshot: dict) -> None:
    best = snapshot["best"]
    if best is None:
        return
    model = snapshot["model"]
    text, use = st.columns([3, 1], vertical_alignment="center")
    so_far = " so far" if snapshot["status"] == "running" else ""
    text.success(
        f"Best{so_far}: trial {best['trial']} (run {best['run']}), {snapshot['objective']} "
        f"{best['score']:.4f}, {best['test_accuracy']:.2%} on MNIST test."
    )
    current = state.chosen_run(model)
    if current.id != best["run"] and (current.accuracy or 0) > best["test_accuracy"]:
        st.warning(
            f"What answers your drawings now ({state.run_label(current)}) scores higher "
            f"than the best trial ({best['test_accuracy']:.2%}): Use the best would swap it "
            "for a weaker run.",
            icon=":material/warning:",
        )
    use.button(
        "Use the best",
        on_click=_use,
        args=(model, best["run"]),
        key="search_use_best",
        type="primary",
        disabled=state.chosen_run(model).id == best["run"],
        help="This run answers your drawings from now on; nobody else's change.",
    )


def show_search() -> None:
    """This session's search: progress and Stop, the trials, the chart and the best."""
    search = my_search()
    if search is None:
        return
    snapshot = search.snapshot()
    rows = snapshot["rows"]
    if not search.finished:
        expected = max(snapshot["expected_s"], 1.0)
        st.progress(
            min(1.0, snapshot["elapsed_s"] / expected),
            text=f"Trial {len(rows)} of {snapshot['trials']}: {duration(snapshot['elapsed_s'])} "
            f"of about {duration(expected)}.",
        )
        st.button("Stop the search", on_click=search.stop, key="search_stop")
    elif snapshot["status"] == "finished":
        st.info(snapshot["message"])
    else:
        st.warning(snapshot["message"])
    if rows:
        st.dataframe(
            rows,
            hide_index=True,
            column_config={
                "score": st.column_config.NumberColumn(snapshot["objective"], format="%.4f"),
                "learning_rate": st.column_config.NumberColumn("learning rate", format="%.3g"),
                "l2": st.column_config.NumberColumn("L2", format="%.3g"),
                "test_accuracy": st.column_config.NumberColumn("MNIST test", format="percent"),
                "pruned": st.column_config.CheckboxColumn("pruned"),
            },
            key="search_table",
        )
        st.caption(
            "A pruned trial was stopped after an epoch whose score was below the median of "
            "earlier trials: it stores nothing, so it is not a run. Finished trials are runs "
            "(see the Runs page)."
        )
    if snapshot["searched"] and any(row["score"] is not None for row in rows):
        st.plotly_chart(
            score_against_settings(rows, snapshot["searched"], snapshot["objective"]),
            key="search_chart",
        )
    show_best(snapshot)
    if search.finished and not st.session_state.get(state.search_ended_key(id(search))):
        # Ended just now: rerun the page once so the polling stops and Start comes back.
        st.session_state[state.search_ended_key(id(search))] = True
        st.rerun()


def render() -> None:
    st.title("Search")
    st.write(
        "Try many settings of one architecture and keep the best. Optuna picks each trial's "
        "settings from the ranges below, learning from the trials before; each trial trains "
        "as a job in the same queue as the sidebar's runs, and one that falls behind the "
        "others is stopped early (pruned). Trials are compared on held-out validation data."
    )
    settings = settings_widgets()
    search = my_search()
    running = search is not None and not search.finished
    if settings is not None:
        per_trial = seconds_per_trial(settings.base)
        expected = expected_seconds(settings, min(job_queue().workers, settings.trials))
        budget = (
            f", stopped at the budget of {duration(settings.budget_s)}" if settings.budget_s else ""
        )
        st.caption(
            f"Expected: about {duration(expected)} ({settings.trials} trials of about "
            f"{duration(per_trial)} each, from this model's runs{budget}), longer while "
            "others' runs are in the queue."
        )
    start = st.button(
        "Start the search",
        type="primary",
        disabled=settings is None or running,
        help="One search at a time per session." if running else None,
        key="search_start",
    )
    if start and settings is not None and not running:
        try:
            search = Search(settings, job_queue(), owner=state.session_owner()).start()
        except LimitError as error:  # a job of the workspace's going, or no room for runs
            st.error(str(error), icon=":material/block:")
        else:
            _searches()[state.session_owner()] = search
            st.rerun()  # once more, so that Start shows disabled while the search runs
    st.fragment(show_search, run_every=POLL_SECONDS if running else None)()
