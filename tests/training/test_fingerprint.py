"""The key a member's training waits under is built from everything its
back-end is given: every field of the network, the settings, the data and
the start. Each field is changed in turn here, from the structures' own
lists of fields, so that a field added later cannot be left out of the key."""

import dataclasses

import numpy as np
import pytest

from sklearn_fitfn import MLPFunctionRegressor
from sklearn_fitfn._training import stacked


@pytest.fixture(scope="module")
def member():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    network = MLPFunctionRegressor(hidden_layer_sizes=(4,), max_iter=3, random_state=0)
    return network._training_member(X, X[:, 0])


def _changed(value):
    """Another value of the same kind."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value + 1.0 if np.isfinite(value) else 7.0
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, np.ndarray):
        return value + 1
    if isinstance(value, tuple):
        return (*value, value[-1]) if value else (1,)
    if isinstance(value, list):
        return [_changed(value[0]), *value[1:]] if value else [np.zeros(1)]
    if isinstance(value, np.random.RandomState):
        return np.random.RandomState(12345)
    return object()  # None, or an object of its own


def _fields(structure):
    if dataclasses.is_dataclass(structure):
        return [field.name for field in dataclasses.fields(structure)]
    return list(structure._fields)


def _replaced(structure, name, value):
    if dataclasses.is_dataclass(structure):
        return dataclasses.replace(structure, **{name: value})
    return structure._replace(**{name: value})


@pytest.mark.parametrize("part", ["spec", "settings", "data", "start"])
def test_changing_any_field_of_a_members_parts_changes_its_key(member, part):
    key = stacked.fingerprint(member)
    structure = getattr(member, part)
    names = _fields(structure)
    assert names, part
    for name in names:
        changed = _replaced(structure, name, _changed(getattr(structure, name)))
        assert stacked.fingerprint(member._replace(**{part: changed})) != key, (part, name)


def test_changing_any_field_of_the_record_changes_the_key(member):
    key = stacked.fingerprint(member)
    record = member.start.record
    for field in dataclasses.fields(record):
        changed = dataclasses.replace(record, **{field.name: _changed(getattr(record, field.name))})
        start = member.start._replace(record=changed)
        assert stacked.fingerprint(member._replace(start=start)) != key, field.name


def test_the_same_member_twice_has_one_key_and_a_drawn_random_state_another(member):
    twin = member._replace(start=member.start._replace(random_state=np.random.RandomState(0)))
    assert stacked.fingerprint(twin) == stacked.fingerprint(
        member._replace(start=member.start._replace(random_state=np.random.RandomState(0)))
    )
    drawn = np.random.RandomState(0)
    drawn.rand()
    moved = member._replace(start=member.start._replace(random_state=drawn))
    assert stacked.fingerprint(moved) != stacked.fingerprint(twin)
