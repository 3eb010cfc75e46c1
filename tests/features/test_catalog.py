"""The feature catalog: concepts and their texts, one spec type, catalogs of both models."""

from __future__ import annotations

import math

import pytest

from features.catalog import CONCEPTS, KIND_GROUP_CONCEPTS, FeatureCatalog, FeatureSpec
from features.history import KIND_GROUPS
from features.precredit import feature_specs
from features.warning import warning_feature_specs


def test_every_concept_names_its_fields_in_both_languages() -> None:
    for concept in CONCEPTS.values():
        for field in concept.fields:
            assert "{" + field + "}" in concept.zh and "{" + field + "}" in concept.en
    assert set(KIND_GROUP_CONCEPTS) == set(KIND_GROUPS)


def test_concept_texts_render_values_and_missing() -> None:
    tax = CONCEPTS["tax_paid"]
    values = {"tax_paid_12m": 12.34, "tax_trend": math.log(1.5)}
    assert tax.render(values, "zh") == "近12个月纳税 12.3 万元"
    assert tax.render(values, "en") == "Tax paid over the last 12 months: CNY 123,400"
    trend = CONCEPTS["tax_trend"]  # its own concept: growth and decline in words
    assert trend.render(values, "zh") == "纳税额同比增长 50%"
    assert trend.render({"tax_trend": math.log(0.8)}, "en") == "Tax paid down 20% year on year"
    assert "未知" in tax.render({"tax_paid_12m": float("nan")}, "zh")
    assert CONCEPTS["tax_grade"].render({"tax_grade_score": 1.0}, "en").endswith(": D")
    assert CONCEPTS["repairs"].render({"repairs_24m": 2, "days_since_repair": 30.0}, "en") == (
        "Credit repairs (信用修复) in the last 24 months: 2; 30 days since the latest"
    )


def test_both_models_describe_their_features_with_one_type() -> None:
    for catalog in (feature_specs(), warning_feature_specs()):
        assert isinstance(catalog, FeatureCatalog)
        assert all(isinstance(spec, FeatureSpec) for spec in catalog)
        assert len(set(catalog.names)) == len(catalog)
        assert not any(spec.monotone for spec in catalog if spec.categorical)
        own, graph = catalog.of_source("self").names, catalog.of_source("graph").names
        assert sorted(own + graph) == sorted(catalog.names) and "linked_risk" in graph
    shared = set(feature_specs().names) & set(warning_feature_specs().names)
    pd_specs, warning_specs = feature_specs(), warning_feature_specs()
    for name in shared:  # a feature of both models belongs to one concept in both
        assert pd_specs.concept_of[name] == warning_specs.concept_of[name]


def test_catalog_is_an_immutable_sequence() -> None:
    specs = warning_feature_specs()
    assert specs[0] == FeatureSpec("own_dishonest_12m", "dishonest_lists", 1)
    assert isinstance(specs[:3], FeatureCatalog) and len(specs[:3]) == 3
    assert specs == warning_feature_specs() and hash(specs) == hash(warning_feature_specs())
    records = specs.to_records()
    assert records[0] == {
        "name": "own_dishonest_12m",
        "concept": "dishonest_lists",
        "monotone": 1,
        "categorical": False,
        "source": "self",
    }


def test_specs_and_catalogs_validate() -> None:
    with pytest.raises(ValueError, match="concept of 'x' must be a code of CONCEPTS; got 'y'"):
        FeatureSpec("x", "y")
    with pytest.raises(ValueError, match=r"monotone of 'x' must be -1, 0 or 1; got 2"):
        FeatureSpec("x", "age", 2)
    with pytest.raises(ValueError, match="monotone of categorical 'x' must be 0; got 1"):
        FeatureSpec("x", "profile", 1, categorical=True)
    with pytest.raises(TypeError, match="categorical must be a bool; got int"):
        FeatureSpec("x", "profile", categorical=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="source of 'x' must be one of self, graph; got 'web'"):
        FeatureSpec("x", "age", source="web")
    with pytest.raises(ValueError, match="feature names must be distinct; got 'x' twice"):
        FeatureCatalog([FeatureSpec("x", "age"), FeatureSpec("x", "age")])
    with pytest.raises(TypeError, match="specs must be FeatureSpec items; got str"):
        FeatureCatalog(["x"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="source must be one of self, graph; got 'web'"):
        feature_specs().of_source("web")
