"""The generator: the stages in order, then the frames (:func:`generate_county`)."""

from __future__ import annotations

import pandas as pd

from risk.contract import TABLES
from risk.synth.config import County, SynthConfig
from risk.synth.enterprises import EnterpriseStage
from risk.synth.hidden_risk import HiddenRiskStage
from risk.synth.loans import FinanceStage
from risk.synth.ownership import OwnershipStage
from risk.synth.records import RecordStage
from risk.synth.writing import Assembler

__all__ = [
    "Builder",
    "generate_county",
]


class Builder(EnterpriseStage, HiddenRiskStage, OwnershipStage, RecordStage, FinanceStage):
    """All stages of the generator over one :class:`~risk.synth.state.CountyState`."""


def generate_county(config: SynthConfig) -> County:
    """Generate a synthetic county; the same config always gives identical frames.

    Parameters
    ----------
    config
        Size, seed, as-of date and rate parameters (:class:`SynthConfig`).

    Returns
    -------
    County
        The six contract tables (exactly :data:`risk.contract.TABLES`' columns, in order) and
        the latent risk behind them. See :mod:`risk.synth` for the generating process.

    Raises
    ------
    TypeError
        If ``config`` is not a :class:`SynthConfig`.
    """
    if not isinstance(config, SynthConfig):
        raise TypeError(f"config must be a SynthConfig; got {type(config).__name__}")
    builder = Builder(config)
    builder.enterprises()
    builder.controllers()
    builder.latent_and_closure()
    builder.shells()
    builder.ownership()
    builder.roles()
    builder.records()
    builder.financials()
    builder.loans()
    assembler = Assembler(builder)
    tables = {
        "enterprises": assembler.enterprises(),
        "persons": assembler.persons(),
        "roles": assembler.roles(),
        "records": assembler.records(),
        "financials": assembler.financials(),
        "loans": assembler.loans(),
    }
    tables = {name: tables[name][list(TABLES[name].names)] for name in TABLES}
    hidden = pd.Series(
        builder.z, index=pd.Index(assembler.uscc, name="uscc", dtype="str"), name="hidden_risk"
    )
    return County(tables=tables, hidden_risk=hidden, config=config)
