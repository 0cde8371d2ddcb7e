r"""``rmt explore``: a local web page that redraws the exact theory as the controls move.

Built on Dash (Plotly's framework for analytic web apps in pure Python; see ``docs/explore.md`` for why). The page
serves every asset itself (no CDN: it works offline) and binds to ``127.0.0.1`` unless told otherwise. The numbers
come from :mod:`rmt.figures.explore_views`, which this module only draws; simulation points are read from an
``rmt simulate --db`` store and overlaid with one-standard-error bars, and a button simulates the current point in a
background thread (progress polled, the page never blocks).

Exports of every view: PNG (rendered server-side with matplotlib from the same numbers), CSV of the numbers, and the
equivalent ``rmt theory ...`` command line.
"""

from __future__ import annotations

import io
import math
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rmt.figures import explore_views as views

__all__ = ["SimulationJobs", "create_app", "overlay_points", "render_png"]

SIM_N0 = 100
SIM_TRIALS = (2, 2, 2)
SIM_REPS = 4


# --------------------------------------------------------------------------------------------- simulation points
def overlay_points(rows: list[dict[str, Any]], settings: dict[str, Any]) -> dict[str, np.ndarray]:
    """Stored simulation points that match the descent view's settings: ``x = n1/m``, ``y``, ``err`` (1 SE).

    A row matches when its model is the view's model and its activation, ``phi``, ridge, noise and signal equal the
    settings to 1e-9 relative (NTK rows also need the same learning-rate ratio).
    """
    xs, ys, es = [], [], []
    for row in rows:
        cfg = row.get("config", {})
        if cfg.get("model") != settings["model"]:
            continue
        p = cfg.get("problem", {})
        opts = cfg.get("options", {})
        try:
            n0, n1, m = float(p["n0"]), float(p["n1"]), float(p["m"])
            same = (p.get("activation") == settings["activation"]
                    and math.isclose(n0 / m, settings["phi"], rel_tol=1e-9)
                    and all(math.isclose(float(p.get(k, d)), settings[k], rel_tol=1e-9, abs_tol=1e-15)
                            for k, d in (("ridge", 0.0), ("noise", 0.0), ("signal", 1.0))))
            if settings["model"] == "ntk":
                same = same and math.isclose(float(opts.get("lr_ratio", 1.0)), settings["lr_ratio"], rel_tol=1e-9)
            res = row["result"]
            y = float(res["test_error"])
            e = float(res.get("stderr", {}).get("test_error", float("nan")))
        except (KeyError, TypeError, ValueError):
            continue  # a row of another shape is not drawn
        if same and math.isfinite(y):
            xs.append(n1 / m)
            ys.append(y)
            es.append(e if math.isfinite(e) else 0.0)
    return {"x": np.array(xs), "y": np.array(ys), "err": np.array(es)}


def read_store(db: str | None) -> list[dict[str, Any]]:
    """Every row of an ``rmt simulate --db`` store (empty without one; a damaged store reads as empty)."""
    if not db or not Path(db).is_file():
        return []
    from rmt.montecarlo.sweep import SweepStore

    try:
        with SweepStore(db) as store:
            return store.rows()
    except (ValueError, OSError):
        return []


@dataclass
class _Job:
    settings: dict[str, Any]
    width: float
    done: int = 0
    total: int = SIM_REPS
    state: str = "running"
    message: str = ""
    started: float = field(default_factory=time.perf_counter)


class SimulationJobs:
    """Small random-feature or NTK simulations at the current point, each in its own daemon thread.

    Results go into the store ``db`` when one is given (so that they are kept), else into memory.
    """

    def __init__(self, db: str | None = None):
        self.db = db
        self._jobs: dict[str, _Job] = {}
        self._rows: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def start(self, settings: dict[str, Any], width: float) -> str:
        job_id = uuid.uuid4().hex[:8]
        job = _Job(dict(settings), width)
        with self._lock:
            self._jobs[job_id] = job
        threading.Thread(target=self._run, args=(job,), daemon=True).start()
        return job_id

    def status(self, job_id: str | None) -> _Job | None:
        with self._lock:
            return self._jobs.get(job_id or "")

    def rows(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._rows)

    def _run(self, job: _Job) -> None:
        from rmt.montecarlo.sweep import SweepPoint, SweepStore, jsonable, point_key
        from rmt.problem import Problem

        s = job.settings
        m = max(2, round(SIM_N0 / s["phi"]))
        n1 = max(1, round(job.width * m))
        try:
            problem = Problem(n0=SIM_N0, n1=n1, m=m, ridge=s["ridge"], activation=s["activation"], noise=s["noise"],
                              signal=s["signal"])
            options: dict[str, Any] = {"trials": list(SIM_TRIALS), "reps": SIM_REPS, "seed": 0}
            if s["model"] == "ntk":
                from rmt.montecarlo.ntk import simulate_ntk as simulate

                options["lr_ratio"] = s["lr_ratio"]
            else:
                from rmt.montecarlo.random_features import simulate_rf as simulate

            def progress(done: int) -> None:
                job.done = done

            start = time.perf_counter()
            result = simulate(problem, progress=progress, **options)
            record = jsonable(result.as_dict())
            point = SweepPoint(s["model"], problem, options)
            row = {"config": point.config(), "result": record}
            if self.db:  # the store is where the overlay reads it
                with SweepStore(self.db) as store:
                    store.put(point_key(point.config()), point.config(), record, time.perf_counter() - start)
            else:
                with self._lock:
                    self._rows.append(row)
            job.state = "done"
            job.message = (f"simulated n0={SIM_N0}, n1={n1}, m={m}: test error {result.test_error:.4g} "
                           f"+- {float(result.stderr['test_error']):.2g}")
        except Exception as exc:  # shown on the page; the server keeps running
            job.state = "failed"
            job.message = f"simulation failed: {' '.join(str(exc).split())}"


# ------------------------------------------------------------------------------------------------------ drawing
def _figure(view: views.View, points: dict[str, np.ndarray] | None) -> dict[str, Any]:
    """A Plotly figure (plain dict) of ``view``."""
    traces: list[dict[str, Any]] = []
    layout: dict[str, Any] = {"title": {"text": view.title}, "margin": {"l": 60, "r": 20, "t": 50, "b": 50},
                              "xaxis": {"title": {"text": view.x_label}, "type": "log" if view.log_x else "linear"},
                              "yaxis": {"title": {"text": view.y_label}}, "legend": {"orientation": "h", "y": -0.2},
                              "uirevision": view.name}
    if view.z is not None:
        z = [[None if not math.isfinite(v) else float(v) for v in row] for row in view.z]
        x, y = view.x.tolist(), view.y.tolist()
        # plotly's RdBu runs from blue (low) to red (high): red where the shift hurts
        traces.append({"type": "heatmap", "x": x, "y": y, "z": z, "colorscale": "RdBu", "zmid": 0.0,
                       "name": "E_OOD - E_ID", "colorbar": {"title": {"text": "OOD penalty"}}})
        traces.append({"type": "contour", "x": x, "y": y, "z": z, "showscale": False, "name": "zero contour",
                       "contours": {"start": 0.0, "end": 0.0, "size": 1.0, "coloring": "none"},
                       "line": {"color": "black", "width": 2}})
        lo, hi = min(x[0], y[0]), max(x[-1], y[-1])
        traces.append({"type": "scatter", "x": [lo, hi], "y": [lo, hi], "mode": "lines", "name": "n1 = m",
                       "line": {"dash": "dash", "color": "gray"}})
        layout["yaxis"]["type"] = "log"
        return {"data": traces, "layout": layout}
    x = view.x.tolist()
    for name in view.stack:
        traces.append({"type": "scatter", "x": x, "y": _nulls(view.curves[name]), "name": name, "mode": "lines",
                       "stackgroup": "terms", "line": {"width": 0.5}})
    for name, y in view.curves.items():
        if name in view.stack:
            continue
        traces.append({"type": "scatter", "x": x, "y": _nulls(y), "name": name, "mode": "lines",
                       "line": {"width": 2.5, "color": "black"} if name == "test_error" else {"width": 2}})
    if points is not None and points["x"].size:
        traces.append({"type": "scatter", "x": points["x"].tolist(), "y": points["y"].tolist(), "mode": "markers",
                       "name": "simulation (+- 1 SE)", "marker": {"color": "crimson", "size": 8},
                       "error_y": {"type": "data", "array": points["err"].tolist(), "visible": True}})
    if view.log_y:
        layout["yaxis"]["type"] = "log"
    return {"data": traces, "layout": layout}


def _nulls(a: np.ndarray) -> list[float | None]:
    return [float(v) if math.isfinite(v) else None for v in np.asarray(a, dtype=float)]


def render_png(view: views.View, points: dict[str, np.ndarray] | None = None) -> bytes:
    """The view drawn with matplotlib (the same numbers as the page) as PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), layout="constrained")
    try:
        if view.z is not None:
            z = np.ma.masked_invalid(view.z)
            lim = float(np.nanmax(np.abs(view.z))) if np.isfinite(view.z).any() else 1.0
            mesh = ax.pcolormesh(view.x, view.y, z, cmap="RdBu_r", vmin=-lim, vmax=lim, shading="auto")
            fig.colorbar(mesh, ax=ax, label="E_OOD - E_ID")
            if np.nanmin(view.z) < 0 < np.nanmax(view.z):
                ax.contour(view.x, view.y, z, levels=[0.0], colors="k")
            lo, hi = view.x[0], view.x[-1]
            ax.plot([lo, hi], [lo, hi], "--", color="gray", label="n1 = m")
            ax.set_yscale("log")
        else:
            names = list(view.stack)
            if names:
                ax.stackplot(view.x, *[np.nan_to_num(view.curves[k], nan=0.0) for k in names], labels=names,
                             alpha=0.6)
            for name, y in view.curves.items():
                if name not in view.stack:
                    ax.plot(view.x, y, lw=2, label=name, color="k" if name == "test_error" else None)
            if points is not None and points["x"].size:
                ax.errorbar(points["x"], points["y"], yerr=points["err"], fmt="o", color="crimson",
                            label="simulation (+- 1 SE)")
            if view.log_y:
                ax.set_yscale("log")
        ax.set_xscale("log" if view.log_x else "linear")
        ax.set_xlabel(view.x_label)
        ax.set_ylabel(view.y_label)
        ax.set_title(view.title, fontsize=10)
        ax.legend(fontsize=7, ncol=3)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=120)
        return buf.getvalue()
    finally:
        plt.close(fig)


# ------------------------------------------------------------------------------------------------------ the page
_VIEW_FIELDS = {
    "descent": ("model", "activation", "phi", "ridge", "noise", "signal", "ensemble", "lr_ratio"),
    "phase": ("activation", "ridge", "noise", "signal", "family", "strength"),
    "learning": ("alpha", "beta", "ridge", "noise", "p"),
    "dynamics": ("algorithm", "alpha", "beta", "noise", "lr", "batch"),
}


def create_app(db: str | None = None) -> Any:
    """The Dash application (``app.run(host, port)`` serves it); ``db`` is an ``rmt simulate --db`` store."""
    from dash import Dash, Input, Output, State, dcc, html, no_update

    jobs = SimulationJobs(db)
    app = Dash(__name__, title="rmt explore", serve_locally=True, update_title=None)
    controls = []
    for name, f in views.FIELDS.items():
        if f.kind == "choice":
            widget = dcc.RadioItems(id=f"f-{name}", options=list(f.choices), value=f.default, inline=True)
        else:
            widget = dcc.Input(id=f"f-{name}", type="text", value=str(f.default), debounce=True,
                               style={"width": "7em"})
        controls.append(html.Div([html.Label(f.label or name, htmlFor=f"f-{name}",
                                             style={"display": "block", "fontSize": "12px"}), widget],
                                 id=f"box-{name}", style={"display": "inline-block", "margin": "4px 10px"}))
    app.layout = html.Div([
        html.H3("rmt explore: exact asymptotics, live"),
        dcc.RadioItems(id="view", options=[{"label": " descent curve", "value": "descent"},
                                           {"label": " covariate-shift phase diagram", "value": "phase"},
                                           {"label": " eigenframework learning curve", "value": "learning"},
                                           {"label": " training dynamics", "value": "dynamics"}],
                       value="descent", inline=True),
        html.Div(controls, id="controls"),
        html.Div(id="message", role="alert", style={"color": "#b00020", "minHeight": "1.2em"}),
        dcc.Graph(id="graph", style={"height": "520px"}, config={"displaylogo": False}),
        html.Div([
            html.Button("Export PNG", id="export-png"), html.Button("Export CSV", id="export-csv"),
            html.Span(" simulate at n1/m = "),
            dcc.Input(id="sim-width", type="text", value="1.0", debounce=True, style={"width": "5em"}),
            html.Button("Simulate here", id="simulate"),
            html.Span(id="sim-status", style={"marginLeft": "1em"}),
        ]),
        html.Pre(id="command", style={"background": "#f4f4f4", "padding": "6px", "whiteSpace": "pre-wrap"}),
        html.Div(id="timing", style={"fontSize": "11px", "color": "gray"}),
        dcc.Download(id="download"),
        dcc.Store(id="job"),
        dcc.Interval(id="poll", interval=500, disabled=True),
    ], style={"fontFamily": "sans-serif", "margin": "12px"})

    names = list(views.FIELDS)
    field_inputs = [Input(f"f-{n}", "value") for n in names]

    def settings_of(values: tuple[Any, ...]) -> dict[str, Any]:
        return views.parse_settings(dict(zip(names, values)))

    def points_for(view: views.View, s: dict[str, Any]) -> dict[str, np.ndarray] | None:
        if view.name != "descent":
            return None
        return overlay_points(read_store(db) + jobs.rows(), s)

    @app.callback(*[Output(f"box-{n}", "style") for n in names], Input("view", "value"))
    def show_fields(view: str) -> list[dict[str, str]]:
        shown = set(_VIEW_FIELDS.get(view, ()))
        return [{"display": "inline-block" if n in shown else "none", "margin": "4px 10px"} for n in names]

    @app.callback(Output("graph", "figure"), Output("command", "children"), Output("message", "children"),
                  Output("timing", "children"), Input("view", "value"), *field_inputs, Input("job", "data"))
    def redraw(view: str, *values: Any) -> tuple[Any, ...]:
        start = time.perf_counter()
        try:
            s = settings_of(values[:-1])
            v = views.compute(view, s)
        except views.FieldError as exc:
            return no_update, no_update, str(exc), ""
        except Exception as exc:  # a solver that cannot answer: say so inline, keep the last picture
            return no_update, no_update, f"no result: {' '.join(str(exc).split())}", ""
        fig = _figure(v, points_for(v, s))
        return fig, v.command, "", f"computed in {1e3 * (time.perf_counter() - start):.0f} ms"

    @app.callback(Output("download", "data"), Input("export-png", "n_clicks"), Input("export-csv", "n_clicks"),
                  State("view", "value"), *[State(f"f-{n}", "value") for n in names], prevent_initial_call=True)
    def export(png: Any, csv: Any, view: str, *values: Any) -> Any:
        from dash import ctx

        try:
            s = settings_of(values)
            v = views.compute(view, s)
        except Exception:
            return no_update
        if ctx.triggered_id == "export-png":
            return dcc.send_bytes(render_png(v, points_for(v, s)), f"rmt-{view}.png")
        return dcc.send_string(v.csv(), f"rmt-{view}.csv")

    @app.callback(Output("job", "data"), Output("poll", "disabled"), Output("sim-status", "children"),
                  Input("simulate", "n_clicks"), Input("poll", "n_intervals"), State("job", "data"),
                  State("view", "value"), State("sim-width", "value"), *[State(f"f-{n}", "value") for n in names],
                  prevent_initial_call=True)
    def simulate(clicks: Any, ticks: Any, job: Any, view: str, width_raw: Any, *values: Any) -> tuple[Any, ...]:
        from dash import ctx

        if ctx.triggered_id == "simulate":
            if view != "descent":
                return no_update, True, "simulation runs in the descent view"
            try:
                s = settings_of(values)
                width = views.Field("sim-width", 1.0, low=0.0, high=100.0, low_open=True).parse(width_raw)
            except views.FieldError as exc:
                return no_update, True, str(exc)
            job_id = jobs.start(s, width)
            return {"id": job_id, "state": "running"}, False, "simulation started"
        st = jobs.status((job or {}).get("id"))
        if st is None:
            return no_update, True, ""
        if st.state == "running":
            elapsed = time.perf_counter() - st.started
            return no_update, False, f"simulating: {st.done}/{st.total} repetitions, {elapsed:.0f} s"
        # finished: changing the store's data triggers a redraw with the new point
        return {"id": (job or {}).get("id"), "state": st.state}, True, st.message

    return app


def serve(host: str = "127.0.0.1", port: int = 8050, db: str | None = None, open_browser: bool = True) -> None:
    """Serve the page until interrupted."""
    app = create_app(db)
    if open_browser:
        import webbrowser

        threading.Timer(1.0, lambda: webbrowser.open(f"http://{host}:{port}/")).start()
    app.run(host=host, port=port, debug=False)
