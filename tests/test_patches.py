"""Patch headers: why a patch exists and where it stands upstream. Pure, no git."""

from __future__ import annotations

import pytest

from factory.patches import UPSTREAM_STATUSES, PatchHeader, parse_header

DIFF = """\
diff --git a/setup.py b/setup.py
index 191f363..ebc70d4 100644
--- a/setup.py
+++ b/setup.py
@@ -1,3 +1,2 @@
 import setuptools
-import distutils.spawn
"""

ALLOWED = "Pending, Submitted, Accepted, Backport, Denied, Inappropriate"


def test_good_header() -> None:
    text = (
        "setup.py: stop importing distutils\n"
        "\n"
        "distutils left the standard library in Python 3.12.\n"
        "\n"
        "Upstream-Status: Submitted <https://github.com/example/demo/pull/12>\n" + DIFF
    )
    assert parse_header(text) == PatchHeader(
        description=(
            "setup.py: stop importing distutils\n"
            "distutils left the standard library in Python 3.12."
        ),
        status="Submitted",
        status_detail="<https://github.com/example/demo/pull/12>",
    )


def test_status_before_description() -> None:
    text = "Upstream-Status: Pending\nFix the riscv64 build.\n" + DIFF
    header = parse_header(text)
    assert header.status == "Pending"
    assert header.status_detail == ""
    assert header.description == "Fix the riscv64 build."


def test_git_format_patch_header() -> None:
    text = (
        "From 58b5e93158034552d76e326bf1be1eac77d07f4e Mon Sep 17 00:00:00 2001\n"
        "From: Jane Doe <jane@example.org>\n"
        "Date: Mon, 2 Mar 2026 10:00:00 +0100\n"
        "Subject: [PATCH] setup.py: stop importing distutils\n"
        "\n"
        "It was removed in Python 3.12 (PEP 632).\n"
        "\n"
        "Upstream-Status: Backport [upstream commit 1234abcd]\n"
        "---\n"
        " setup.py | 1 -\n"
        " 1 file changed, 1 deletion(-)\n"
        "\n" + DIFF + "-- \n2.47.0\n"
    )
    # The envelope (From <sha>, From:, Date:), the [PATCH] tag and the diffstat after
    # '---' say nothing about why and are dropped; the subject and body are kept.
    assert parse_header(text) == PatchHeader(
        description=(
            "setup.py: stop importing distutils\nIt was removed in Python 3.12 (PEP 632)."
        ),
        status="Backport",
        status_detail="[upstream commit 1234abcd]",
    )


def test_git_format_patch_series_with_status_in_the_notes() -> None:
    # `git format-patch --notes` or a hand edit may put the status below the '---'.
    text = (
        "From 58b5e93158034552d76e326bf1be1eac77d07f4e Mon Sep 17 00:00:00 2001\n"
        "From: Jane Doe <jane@example.org>\n"
        "Subject: [PATCH 2/3] Use the riscv64 atomics\n"
        "---\n"
        "Upstream-Status: Inappropriate [riscv64 packaging only]\n"
        " src/x.c | 2 +-\n"
        "\n" + DIFF
    )
    assert parse_header(text) == PatchHeader(
        "Use the riscv64 atomics", "Inappropriate", "[riscv64 packaging only]"
    )


def test_unified_diff_without_git_header() -> None:
    text = "Fix it.\nUpstream-Status: Accepted\n--- a/x.c\n+++ b/x.c\n@@ -1 +1 @@\n-a\n+b\n"
    assert parse_header(text).status == "Accepted"


@pytest.mark.parametrize("status", sorted(UPSTREAM_STATUSES))
def test_every_status_with_detail(status: str) -> None:
    text = f"Why this patch exists.\n\nUpstream-Status: {status} [some detail]\n" + DIFF
    header = parse_header(text)
    assert header.status == status
    assert header.status_detail == "[some detail]"
    assert header.description == "Why this patch exists."


@pytest.mark.parametrize(
    "status", sorted(status for status, needs in UPSTREAM_STATUSES.items() if not needs)
)
def test_statuses_that_need_no_detail(status: str) -> None:
    text = f"Why this patch exists.\nUpstream-Status: {status}\n" + DIFF
    assert parse_header(text) == PatchHeader("Why this patch exists.", status, "")


def test_statuses_needing_detail_are_the_documented_ones() -> None:
    assert sorted(s for s, needs in UPSTREAM_STATUSES.items() if needs) == [
        "Backport",
        "Inappropriate",
        "Submitted",
    ]


@pytest.mark.parametrize("status", ["Submitted", "Backport", "Inappropriate"])
def test_status_without_required_detail(status: str) -> None:
    text = f"Why this patch exists.\nUpstream-Status: {status}   \n" + DIFF
    with pytest.raises(ValueError) as caught:
        parse_header(text)
    assert str(caught.value) == f"'Upstream-Status: {status}' needs a link or [reason] after it"


def test_unknown_status_names_the_allowed_ones() -> None:
    text = "Why this patch exists.\nUpstream-Status: Maybe [later]\n" + DIFF
    with pytest.raises(ValueError) as caught:
        parse_header(text)
    assert str(caught.value) == f"unknown Upstream-Status 'Maybe'; use one of {ALLOWED}"


def test_status_is_case_sensitive() -> None:
    text = "Why this patch exists.\nUpstream-Status: pending\n" + DIFF
    with pytest.raises(ValueError, match="unknown Upstream-Status 'pending'"):
        parse_header(text)


def test_empty_status() -> None:
    text = "Why this patch exists.\nUpstream-Status:\n" + DIFF
    with pytest.raises(ValueError) as caught:
        parse_header(text)
    assert str(caught.value) == f"unknown Upstream-Status ''; use one of {ALLOWED}"


def test_missing_status() -> None:
    text = "Why this patch exists.\n\n" + DIFF
    with pytest.raises(ValueError) as caught:
        parse_header(text)
    assert str(caught.value) == (
        "header has no 'Upstream-Status:' line; add one, e.g. "
        "'Upstream-Status: Submitted <link>' or 'Upstream-Status: Inappropriate [reason]'"
    )


def test_status_inside_the_diff_does_not_count() -> None:
    text = "Why this patch exists.\n" + DIFF + "+Upstream-Status: Pending\n"
    with pytest.raises(ValueError, match="header has no 'Upstream-Status:' line"):
        parse_header(text)


def test_no_description() -> None:
    text = "\nUpstream-Status: Pending\n\n" + DIFF
    with pytest.raises(ValueError) as caught:
        parse_header(text)
    assert str(caught.value) == (
        "header does not say why the patch exists; describe it above the diff"
    )


def test_mbox_envelope_alone_is_no_description() -> None:
    text = (
        "From 58b5e93158034552d76e326bf1be1eac77d07f4e Mon Sep 17 00:00:00 2001\n"
        "From: Jane Doe <jane@example.org>\n"
        "Date: Mon, 2 Mar 2026 10:00:00 +0100\n"
        "Upstream-Status: Pending\n" + DIFF
    )
    with pytest.raises(ValueError, match="header does not say why the patch exists"):
        parse_header(text)


@pytest.mark.parametrize(
    "text",
    ["", "Why.\nUpstream-Status: Pending\n", "Why.\nUpstream-Status: Pending\n+++ b/x\n"],
)
def test_no_diff_at_all(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_header(text)
    assert str(caught.value) == "contains no diff (no 'diff --git' or '---' line)"
