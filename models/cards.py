"""The model cards: the one layout (:class:`ModelCard`) and each model's text.

Every credlink training run logs a model card (``model_card.md``,
:func:`models.tracking.log_model_run`) in the same layout: a title, key facts, sections and
limitations. The text of each model's card is here, written from what its training
computed: the pre-credit PD and limit (:func:`precredit_card`,
:func:`models.training.train_precredit`), the learned warning (:func:`warning_card`,
:func:`models.warning_training.train_warning`) and a bank's own table (:func:`table_card`,
:func:`models.table.train_table`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from features.catalog import GRAPH_CONCEPTS, PUBLIC_CREDIT_CONCEPTS
from models.report import markdown_table

if TYPE_CHECKING:
    from models.limit import LimitModel
    from models.pd import PDModel
    from models.scorecard import Scorecard
    from models.splits import WarningSplit
    from models.training import TrainConfig
    from models.warning import WarningModel
    from models.warning_training import WarningTrainConfig

__all__ = [
    "LOADING_LIMITATION",
    "ModelCard",
    "gain_shares",
    "precredit_card",
    "table_card",
    "warning_card",
]


LOADING_LIMITATION = (
    "Loading the registered model needs the credlink packages (risk, features, models)."
)
"""The limitation every registered credlink model shares."""


@dataclass(frozen=True)
class ModelCard:
    """A model card in markdown, in the one layout every credlink model's card has.

    Attributes
    ----------
    title : str
        The card's title (``# …``).
    facts : sequence of str
        Key facts, one bullet each (``**Label**: …``).
    sections : sequence of (str, sequence of str)
        Heading (``## …`` or ``### …``; empty for none) and its blocks (paragraphs, bullet
        lists, :func:`models.report.markdown_table` tables), one blank line apart.
    limitations : sequence of str
        Bullets of a last ``## Limitations`` section (none: no section).
    """

    title: str
    facts: Sequence[str]
    sections: Sequence[tuple[str, Sequence[str]]] = ()
    limitations: Sequence[str] = ()

    def to_markdown(self) -> str:
        """The card as markdown text."""
        lines = [f"# {self.title}", "", *(f"- {fact}" for fact in self.facts)]
        sections = [*self.sections]
        if self.limitations:
            sections.append(("## Limitations", ["\n".join(f"- {x}" for x in self.limitations)]))
        for heading, blocks in sections:
            if heading:
                lines += ["", heading]
            for block in blocks:
                lines += ["", block]
        return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- the cards


def gain_shares(importance: pd.DataFrame) -> dict[str, float]:
    """Shares of a model's total gain: of its public-credit-record concepts, its graph concepts
    and each concept.

    Parameters
    ----------
    importance
        :meth:`models.booster.BinaryEstimator.feature_importance` with ``concept`` (``gain``
        per feature).

    Returns
    -------
    dict
        ``public_credit`` (:data:`features.catalog.PUBLIC_CREDIT_CONCEPTS`), ``graph``
        (:data:`features.catalog.GRAPH_CONCEPTS`), then ``concept:<code>`` for every concept,
        largest first; shares of the total gain (all 0 when the model has no gain, i.e. a
        single leaf).
    """
    gain = importance.groupby("concept")["gain"].sum().sort_values(ascending=False)
    total = float(gain.sum())
    share = gain / total if total > 0 else gain * 0.0
    return {
        "public_credit": float(share[share.index.isin(PUBLIC_CREDIT_CONCEPTS)].sum()),
        "graph": float(share[share.index.isin(GRAPH_CONCEPTS)].sum()),
        **{f"concept:{code}": float(v) for code, v in share.items()},
    }


def precredit_card(
    t: pd.Timestamp,
    config: TrainConfig,
    counts: Mapping[str, int],
    data_start: pd.Timestamp | None,
    tables: Mapping[str, pd.DataFrame],
    metrics: Mapping[str, float],
    model: PDModel,
    limit_model: LimitModel,
    eligibility: pd.DataFrame,
    n_test: int,
) -> str:
    """The pre-credit card (``credlink-pd`` and ``credlink-limit``) of a run as of ``t``.

    ``counts`` and ``data_start`` describe the sample (:func:`models.training.precredit_sample`),
    ``tables`` and ``metrics`` are the run's, ``n_test`` the size of the test period.
    """
    splits = tables["splits"]
    window = f"{splits['first'].min()} – {splits['last'].max()}"
    shares = gain_shares(tables["importance"])
    concepts = ", ".join(
        f"{key.removeprefix('concept:')} ({share:.1%})"
        for key, share in shares.items()
        if key.startswith("concept:") and share > 0
    )
    calibrator = model.calibrator_
    losses = ", ".join(f"{m} {v:.4f}" for m, v in calibrator.cv_log_loss_.items())
    chosen = (
        f"{calibrator.method_}, chosen by out-of-fold log loss ({losses})"
        if losses
        else calibrator.method_
    )
    declined = int((~eligibility["eligible"]).sum())
    nan = float("nan")
    start = data_start.date() if data_start is not None else "—"
    weights = ", ".join(f"{k} {v:.3g}" for k, v in limit_model.weights_.items())
    learned = "learned from performing loans" if limit_model.weights_learned_ else "from policy"
    return ModelCard(
        title="信易贷 pre-credit model card (credlink-pd, credlink-limit)",
        facts=[
            f"**Trained as of**: {t.date()} · horizon {config.horizon_months} months · "
            f"data window of the sample (application dates): {window}",
            "**Intended use**: pre-credit (预授信) screening of enterprises that authorised the "
            "query; a bank's own credit decision follows. Not for the credit office's warnings.",
            f"**Label**: 1 if the loan's first bad day (the first date it was 90+ days overdue "
            f"or in default, from the loans' status history) is within "
            f"{config.horizon_months} months of `applied` (and by {t.date()}), even if the "
            f"loan was cured since; 0 if the horizon is over and it was not.",
        ],
        sections=[
            (
                "## Sample",
                [
                    "\n".join(
                        [
                            f"- Loans applied by {t.date()}: {counts['applied']:,}",
                            f"- Excluded, not yet labelled (younger than "
                            f"{config.horizon_months} months, status still good): "
                            f"{counts['unlabelled']:,}",
                            f"- Excluded, bad before their horizon ended (kept out so the "
                            f"latest period's bad rate is not inflated; they enter a later "
                            f"retraining): {counts['immature_bad']:,}",
                            f"- Excluded, applied in the first {config.warmup_months} months "
                            f"of the platform's data (from {start}): {counts['warmup']:,}",
                            f"- Development sample: {counts['sample']:,} loans; funded although "
                            f"the eligibility policy would decline them at application: "
                            f"{declined:,} (kept)",
                        ]
                    ),
                    markdown_table(splits),
                ],
            ),
            (
                "## Selective labels",
                [
                    "Outcomes exist only for **funded** loans (实际授信放款结果): applications the "
                    "banks declined never reach the loans table, so the model learns the risk "
                    "of the approved population and may understate the risk of enterprises "
                    "unlike those the banks funded. The eligibility policy declines 失信 "
                    "enterprises before any score; their PDs are still computed and kept with "
                    "the scored batch (`score_enterprises`) for reject-inference experiments."
                ],
            ),
            (
                "## Features",
                [
                    f"Point-in-time as of each application date (`features.precredit`): "
                    f"{len(model.feature_names_)} features; graph features "
                    f"{'on' if config.features.graph else 'off'} (month-start cutoffs); inactive "
                    f"history {'on' if config.features.include_inactive_history else 'off'}. "
                    f"Monotone constraints: "
                    f"{sum(1 for v in model.monotone_.values() if v > 0)} increasing, "
                    f"{sum(1 for v in model.monotone_.values() if v < 0)} decreasing. "
                    f"Categoricals ({', '.join(model.categorical_)}) integer-encoded; vocabulary "
                    f"in `vocabulary.json`.\n"
                    f"Share of the gain: public-credit records "
                    f"(`features.catalog.PUBLIC_CREDIT_CONCEPTS`) "
                    f"{shares['public_credit']:.1%}, graph of linked parties "
                    f"(`GRAPH_CONCEPTS`) {shares['graph']:.1%}. Every concept by share of "
                    f"the total gain (`features.catalog.CONCEPTS`): {concepts}."
                ],
            ),
            (
                "## Out-of-time performance (test period)",
                [
                    f"n = {n_test:,}, bads = {metrics.get('test_bads', nan):.0f}: AUC "
                    f"{metrics.get('test_auc', nan):.3f}, KS {metrics.get('test_ks', nan):.3f}, "
                    f"Gini {metrics.get('test_gini', nan):.3f}, Brier "
                    f"{metrics.get('test_brier', nan):.4f}; score PSI held-out (validation and "
                    f"calibration periods) → test {metrics['psi_score_valid_test']:.3f}; "
                    f"monotonicity violations "
                    f"{metrics['monotonicity_violations']:.0f}. Calibration: {chosen}, on the "
                    f"validation and calibration periods pooled ({calibrator.n_:,} loans, "
                    f"{calibrator.n_bads_:,} bads); best iteration {model.best_iteration_}."
                ],
            ),
            ("### Calibration (test, deciles of PD)", [markdown_table(tables["calibration"])]),
            (
                "### Grades",
                [
                    f"{len(model.grade_cuts_) + 1} grades cut on the held-out periods "
                    f"(`models.pd.fit_grade_cuts`: at most {model.config_.max_grades}, each "
                    f"with ≥ {model.config_.grade_min_bads} bads, observed bad rates rising); "
                    "`test_*` are the out-of-time test loans. The limit and the 白名单 read "
                    "the PD band of the master scale instead.",
                    markdown_table(tables["grades"]),
                ],
            ),
            (
                "## Limit",
                [
                    f"Capacity weights {learned} (n = {limit_model.n_fit_}): {weights}. "
                    "Backtest on the test loans against the 银税互动 rule of thumb (7× average "
                    "annual tax, 5–9× range):",
                    markdown_table(tables["backtest"]),
                ],
            ),
        ],
        limitations=[
            "Few bads make the test metrics noisy (see n above); compare versions on the same "
            "holdout (the promotion gate does).",
            "Enterprise attributes (kind, industry, region, registered capital) are the stored "
            "values; the contract keeps no history of them.",
            LOADING_LIMITATION,
        ],
    ).to_markdown()


def _fmt(value: float, digits: int = 3) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def _sampling_text(config: WarningTrainConfig, metrics: Mapping[str, float]) -> str:
    fraction = metrics.get("sample_negative_fraction", 1.0)
    if fraction >= 1.0:
        return (
            f"Sampling: none; the training cutoffs' {metrics.get('sample_negatives', 0):,.0f} "
            "negatives are all below the budget (`max_negatives` "
            f"{'all' if config.max_negatives is None else f'{config.max_negatives:,}'})."
        )
    return (
        f"Sampling: every positive of the training cutoffs "
        f"({metrics['sample_positives']:,.0f}) and {fraction:.1%} of their negatives "
        f"({metrics['sample_negatives_kept']:,.0f} of {metrics['sample_negatives']:,.0f}), "
        f"drawn per cutoff with seed {config.sample_seed} and weighted n_c / k_c "
        "(`negative_weight` above), so the weighted log loss and the probabilities are those "
        "of the unsampled rows. The test cutoff is not sampled: every metric below is on all "
        "its enterprises."
    )


def warning_card(
    t: pd.Timestamp,
    config: WarningTrainConfig,
    split: WarningSplit,
    tables: Mapping[str, pd.DataFrame],
    metrics: Mapping[str, float],
    model: WarningModel,
) -> str:
    """The learned warning's card of a run whose data end on ``t``, tested on ``split.test``."""
    importance = tables["importance"]
    by_source = importance.groupby("source")["gain"].sum()
    share = by_source / max(float(by_source.sum()), 1e-12)
    top = ", ".join(importance["feature"].head(8))
    label_kinds = ", ".join(sorted(k.value for k in config.label_kinds))
    return ModelCard(
        title=f"Repeat-violator early warning model card ({config.model_name})",
        facts=[
            f"**Trained as of**: {t.date()} · test cutoff {split.test.date()} · training "
            f"cutoffs {', '.join(str(c.date()) for c in split.train)}",
            "**Intended use**: rank enterprises for the credit office's attention "
            "(屡禁不止、屡罚不改 预警) next to the county plans' rules; a warning is evidence for "
            "the responsible regulator, not a sanction. Not for pre-credit decisions.",
            f"**Label**: 1 if a record of kind {label_kinds} about the enterprise is decided in "
            f"(t, t + {config.horizon_months} months]; a record decided on t is a feature.",
            "**Population**: enterprises existing on the cutoff (founded, not closed).",
        ],
        sections=[
            (
                "## Cutoffs",
                [
                    markdown_table(tables["cutoffs"]),
                    f"Early stopping on {config.valid_fraction:.0%} of the enterprises held out "
                    "of training (all their training cutoffs): quarterly cutoffs share label "
                    "events, so a later cutoff of the same enterprises would reward memorising "
                    "them.",
                    _sampling_text(config, metrics),
                ],
            ),
            (
                "## Features",
                [
                    f"{len(model.feature_names_)} point-in-time features (`features.warning`); "
                    f"inactive history "
                    f"{'on' if config.features.include_inactive_history else 'off'} (DESIGN.md "
                    f"§2 policy flag); share of gain: self {share.get('self', 0.0):.0%}, graph "
                    f"{share.get('graph', 0.0):.0%}. Largest: {top}. Kind and industry are fixed "
                    f"integer codes (`features.json`). Monotone constraints: "
                    f"{sum(1 for v in model.monotone_.values() if v > 0)} increasing."
                ],
            ),
            (
                "## Held-out year and the rules",
                [
                    f"Test: n = {metrics['test_n']:,.0f}, positives = "
                    f"{metrics['test_positives']:,.0f} (base rate "
                    f"{_fmt(metrics['test_base_rate'])}); AUC {_fmt(metrics['test_auc'])}; best "
                    f"iteration {model.best_iteration_}; score PSI held-out enterprises → test "
                    f"year {_fmt(metrics['psi_valid_test'])}; monotonicity violations "
                    f"{metrics['monotonicity_violations']:.0f}.",
                    markdown_table(tables["ablation"]),
                    "Rules ranking: flagged enterprises (any rule on the test cutoff) by most "
                    "urgent level, then rules hit, then records cited; precision@k is blank "
                    "beyond the flagged set. `precision_flagged` / `recall_flagged` of a model "
                    "are those of its top-|flagged|, the rules' workload.",
                ],
            ),
            ("### The rules one by one (test cutoff)", [markdown_table(tables["rules_by_rule"])]),
        ],
        limitations=[
            "Records are dated by decision; a record ingested late would have been unknown on "
            "its decision date. The contract keeps no ingest date, so the backtest assumes none "
            "is late.",
            "Kind, industry and registered capital are the stored values, without history.",
            "Few positives per cutoff make precision@k noisy; compare versions on the same "
            "held-out year (the promotion gate does).",
            LOADING_LIMITATION,
        ],
    ).to_markdown()


def table_card(
    model_name: str,
    target: str,
    id_col: str | None,
    date_col: str | None,
    rows: pd.DataFrame,
    tables: Mapping[str, pd.DataFrame],
    metrics: Mapping[str, float],
    model: PDModel | Scorecard,
    *,
    chosen: str,
    evaluation: str,
    refit: str,
) -> str:
    """The card of a model trained on a bank's own table (:func:`models.table.train_table`):
    the candidates compared on the same folds, the one chosen, how it was refitted."""
    if date_col:
        validation = (
            f"{evaluation}: fitted on the oldest period, scored on the later validation and "
            f"calibration periods of `{date_col}`; the newest period is the test"
        )
    else:
        validation = f"{evaluation} on the development rows; a stratified random test split"
    candidates = tables["candidates"]
    calibration = getattr(getattr(model, "calibrator_", None), "method_", None)
    calibrated = (
        f"calibration {calibration} on out-of-fold scores (cross-fitted)"
        if calibration
        else "a logistic regression's own probabilities"
    )
    max_grades, min_bads = model.grade_rules()
    return ModelCard(
        title=f"Model card: {model_name}",
        facts=[
            f"**Target**: `{target}` (1 = bad); id column: `{id_col or '—'}`; "
            f"{len(rows):,} rows, {int(tables['splits']['bads'].sum()):,} bads",
            f"**Evaluation**: {validation}",
            f"**Candidates**, {evaluation} AUC on the same folds (used for selection, so the "
            "chosen one's is selection-biased) and test AUC (each refitted as the chosen one "
            "is, on the test rows): "
            + "; ".join(
                f"{row.candidate} AUC {row.auc:.3f} ± {row.auc_std:.3f}, test {row.test_auc:.3f}"
                for row in candidates.itertuples(index=False)
            )
            + f". **Chosen: {chosen}** (highest {evaluation} AUC; ties go to the simpler model)",
            f"**Refit**: {refit}",
            f"**Features**: {len(model.feature_names_)} ({len(model.categorical_)} categorical)",
            f"**Test**: AUC {metrics.get('test_auc', float('nan')):.3f}, KS "
            f"{metrics.get('test_ks', float('nan')):.3f}, Brier "
            f"{metrics.get('test_brier', float('nan')):.4f}, score PSI out-of-sample → test "
            f"{metrics['psi_score_oos_test']:.3f}; {calibrated}",
            "**Selective labels**: if the table holds funded loans only, the model learns the "
            "risk of the approved population; keep declined applications for reject inference.",
        ],
        sections=[
            ("## Candidates", [markdown_table(candidates)]),
            ("## Periods", [markdown_table(tables["splits"])]),
            ("## Calibration (test)", [markdown_table(tables["calibration"])]),
            (
                "## Grades",
                [
                    f"{len(model.grade_cuts_) + 1} grades cut on the out-of-fold PDs (the "
                    f"development rows the {evaluation} scores; `models.pd.fit_grade_cuts`: at "
                    f"most {max_grades}, each with ≥ {min_bads} bads, observed bad rates "
                    "rising): `calibration_*` and `observed_bad_rate` are those rows, `test_*` "
                    "the test rows. The served `pd_band` is the PD's band on the master scale.",
                    markdown_table(tables["grades"]),
                ],
            ),
        ],
    ).to_markdown()
