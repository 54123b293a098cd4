"""The dense filter judges each kind of version once (kb.retrieve._Catalog._judge): its
verdicts must be `Scope.allows` of every version, for every kind of scope, and the titles
a scope may read those of the versions it allows."""

from __future__ import annotations

import datetime as dt
import itertools
import threading

import numpy as np

from kb.access import RESTRICTED_READER
from kb.retrieve import Scope, _Catalog
from kb.types import EVERYONE, Category, DocumentInfo

DAY = dt.date(2026, 6, 1)
GROUPS = [(EVERYONE,), ("fraud-team",), ("complaints-team", "fraud-team"), ()]
DATES = [None, DAY - dt.timedelta(days=30), DAY, DAY + dt.timedelta(days=1)]


def _info(number: int, version: int) -> DocumentInfo:
    """A version whose groups, category and dates vary with `number`."""
    return DocumentInfo(
        document_id=f"doc-{number:03d}",
        version=version,
        title=f"Title {number} v{version}",
        source_name="x.txt",
        format="txt",
        language="en" if number % 3 else "zh",
        category=list(Category)[number % len(Category)],
        effective_date=DATES[number % 4],
        expiry_date=DATES[(number // 4) % 4],
        groups=GROUPS[(number // 2) % len(GROUPS)],
        replaced_on=DATES[(number // 3 + version) % 4],
    )


def _catalog() -> _Catalog:
    """A catalog over 120 documents (two versions of some), the preview listing other
    versions than the live view (real DocumentInfo and Scope; no knowledge base needed)."""
    live = {}
    preview = {}
    for number in range(120):
        for version in (1, 2) if number % 5 == 0 else (1,):
            info = _info(number, version)
            if number % 7 != 0:
                live[(info.document_id, version)] = info
            if number % 11 != 0:
                preview[(info.document_id, version)] = _info(number + version, version)
    catalog = object.__new__(_Catalog)
    catalog.versions, catalog.preview_versions = live, preview
    catalog.known = set(live) | set(preview)
    catalog.version_keys = sorted(catalog.known)
    catalog._kinds = {}
    catalog._verdicts = {}
    catalog._titles = {}
    catalog._lock = threading.Lock()
    return catalog


def _scopes() -> list[Scope]:
    return [
        Scope(frozenset({EVERYONE, *groups}), category, as_of, inactive, preview)
        for groups, category, as_of, inactive, preview in itertools.product(
            [(), ("fraud-team",), ("complaints-team",), (RESTRICTED_READER,)],
            [None, Category.POLICY, Category.FAQ],
            [DAY, DAY + dt.timedelta(days=40), DAY - dt.timedelta(days=40)],
            [False, True],
            [False, True],
        )
    ]


def test_verdicts_are_allows_of_every_version() -> None:
    catalog = _catalog()
    kinds_seen = set()
    for scope in _scopes():
        infos = catalog.infos(scope)
        expected = [k in infos and scope.allows(infos[k]) for k in catalog.version_keys]
        verdicts = catalog._judge(scope)
        assert verdicts.dtype == np.bool_
        assert verdicts.tolist() == [*expected, False]  # the last: an unknown position
        kinds_seen.add(sum(expected))
    assert len(kinds_seen) > 5  # the scopes do disagree: the comparison means something
    assert len(catalog._kinds[False][0]) < len(catalog.versions)  # kinds were shared


def test_titles_are_those_of_the_allowed_versions() -> None:
    catalog = _catalog()
    for scope in _scopes()[::7]:
        expected = {
            doc: info.title
            for (doc, _), info in sorted(catalog.infos(scope).items())
            if scope.allows(info)
        }
        assert dict(catalog.titles(scope)) == expected
