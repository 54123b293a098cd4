"""The cluster as `make run-cluster` starts it (tools/cluster.sh): two app replicas and two API
workers behind a real nginx, every one its own process, sharing only the store.

The replicas run on the shared store, KB_STORE=postgres, as they would on several machines:
the test's base is built locally and moved with `kb migrate --to postgres` (kb.migrate) into
a namespace of its own, and the processes share no knowledge-base file (their KB_DATA_DIR is
an empty folder of caches). A document uploaded in the Library through nginx, held on app replica 1 by its sticky
cookie, is answered by API worker 2 (directly and through nginx) within a second; deleted in
the Library of app replica 2 (directly), nothing of it is left in any answer from worker 1
or through nginx. Also: nginx spreads new browsers over both app replicas and keeps each on
its own, balances the API over both workers, and serves the app's page and health.

Needs Debian's nginx (.ci/run installs it; `tools/cluster.sh start` does as root) and
chromium: skipped with a reason when either is missing, failed when CI is set.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from eval.cluster_bench import free_ports
from tests.browser.conftest import CHROMIUM, FLAGS, OUTPUT, idle, require_chromium, sign_in
from tests.conftest import APP_FILES, APP_USERS, REPO, copy_kb, drop_postgres, postgres_settings

pytestmark = pytest.mark.integration

NGINX = Path("/usr/sbin/nginx")
CLUSTER = REPO / "tools" / "cluster.sh"
DOCUMENT = "coin-counting-service.md"
FACT = "£7.35 per bag"  # in no other document: its presence says where an answer came from
QUESTION = "How much does the coin counting service cost?"
REPLICA = "X-AnswerDesk-Replica"


def require_nginx() -> None:
    if not NGINX.exists():
        if os.environ.get("CI"):
            pytest.fail("nginx is missing in CI: .ci/run should have installed it")
        pytest.skip("Debian's nginx is not installed (tools/cluster.sh start installs it as root)")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, kb_template, embedder, database_url):
    """Addresses of the running cluster and an API token; stopped after the module."""
    require_nginx()
    require_chromium()
    from kb.config import Settings
    from kb.migrate import migrate_to_postgres
    from kb.services import Services
    from kb.store import KnowledgeBase

    root = tmp_path_factory.mktemp("cluster")
    data_dir = copy_kb(kb_template(APP_FILES, APP_USERS), root / "kb")
    services = Services(
        Settings(data_dir=data_dir), KnowledgeBase(Settings(data_dir=data_dir), embedder)
    )
    try:
        _, token = services.integration_accounts().create("desk", "rpa", (), 10_000)
    finally:
        services.close()
    shared = postgres_settings(root / "replica-caches", database_url)
    migrate_to_postgres(Settings(data_dir=data_dir, store="local"), shared, embedder)
    app_port, api_port, app1, app2, api1, api2 = free_ports(6)
    # Uploads publish at once (no four-eyes review in this journey).
    env = dict(os.environ)
    env.update(
        KB_STORE="postgres", KB_DATABASE_URL=database_url,
        KB_DATABASE_SCHEMA=shared.database_schema, KB_DATA_DIR=str(shared.data_dir),
        KB_FOUR_EYES="false", CLUSTER_DIR=str(root / "cluster"),
        CLUSTER_PORT=str(app_port), CLUSTER_API_PORT=str(api_port),
        CLUSTER_APP_PORTS=f"{app1} {app2}", CLUSTER_API_PORTS=f"{api1} {api2}",
    )  # fmt: skip
    started = subprocess.run(
        [CLUSTER, "start"], env=env, capture_output=True, text=True, timeout=180
    )
    try:
        assert started.returncode == 0, started.stderr
        yield {
            "app": f"http://127.0.0.1:{app_port}", "api": f"http://127.0.0.1:{api_port}",
            "app-1": f"http://127.0.0.1:{app1}", "app-2": f"http://127.0.0.1:{app2}",
            "api-1": f"http://127.0.0.1:{api1}", "api-2": f"http://127.0.0.1:{api2}",
            "token": token, "env": env, "dir": root / "cluster",
        }  # fmt: skip
    finally:
        subprocess.run([CLUSTER, "stop"], env=env, capture_output=True, timeout=60)
        drop_postgres(shared)


def ask(base: str, token: str) -> tuple[str, str]:
    """The answer record as text, and the replica nginx names (empty when asked directly)."""
    response = httpx.post(
        f"{base}/v1/ask", json={"question": QUESTION},
        headers={"Authorization": f"Bearer {token}"}, timeout=30,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    return json.dumps(response.json(), ensure_ascii=False), response.headers.get(REPLICA, "")


def pin(context, app: str, route: str) -> None:  # type: ignore[no-untyped-def]
    """Give the browser the sticky cookie that sends it to one app replica."""
    context.add_cookies([{"name": "answerdesk_replica", "value": route, "url": app}])


def route_cookies(app: str) -> dict[str, str]:
    """A sticky-cookie value that nginx sends to each app replica (found by asking it)."""
    found: dict[str, str] = {}
    for n in range(64):
        value = f"probe-{n}"
        replica = httpx.get(f"{app}/_stcore/health", cookies={"answerdesk_replica": value}).headers[
            REPLICA
        ]
        found.setdefault(replica, value)
        if len(found) == 2:
            return found
    raise AssertionError(
        f"64 cookies all went to {found}: the app upstream is not hashed on the cookie"
    )


def test_an_upload_on_one_replica_is_answered_by_the_other_and_a_delete_leaves_nothing(cluster):
    """Also: the sign-in made on app-1 holds on app-2 (sessions live in the store), so a
    browser moved to the other replica stays signed in."""
    from playwright.sync_api import sync_playwright

    token, document = cluster["token"], cluster["dir"] / DOCUMENT
    document.write_text(
        "# Coin counting service\n\nDocument owner: Branch Services\n\n## Fees\n\n"
        f"Counting loose coins for a customer costs {FACT}; business customers pay the same.\n\n"
        "## Steps\n\n1. Weigh the bags.\n2. Take the fee.\n3. Credit the account.\n",
        encoding="utf-8",
    )
    # Both workers answer once from the base as it was (and load their models meanwhile),
    # while the browser signs in.
    before = ThreadPoolExecutor(2).map(
        lambda base: ask(base, token)[0], (cluster["api-1"], cluster["api-2"])
    )
    cookies = route_cookies(cluster["app"])
    OUTPUT.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        # Through nginx, held on app-1 by its cookie: page, websocket and the upload's PUT.
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        pin(context, cluster["app"], cookies["app-1"])
        page = context.new_page()
        served_by: Counter[str] = Counter()
        # What the replica itself answers (static files come from the browser's cache too).
        page.on(
            "response",
            lambda r: (
                r.request.resource_type in ("document", "xhr", "fetch")
                and served_by.update([r.headers.get(REPLICA.lower(), "")])
            ),
        )
        sign_in(page, cluster["app"], "kim", "knowledge-pass")
        page.get_by_role("link", name="Library").click()
        idle(page)  # a rerun would fold the expander up again
        page.get_by_text("Upload documents").click()
        # The batch uploader (the new-version one takes a single file).
        page.locator("input[type='file'][multiple]").set_input_files(str(document))
        uploader = page.locator('[data-testid="stFileUploader"]')
        uploader.get_by_text("ice.md", exact=False).first.wait_for(timeout=30_000)
        assert not any(FACT in text for text in before)
        page.wait_for_timeout(300)  # the chip shows just before the upload is acknowledged
        page.get_by_role("button", name="Ingest files").click()
        page.get_by_text("1 files: 1 added").wait_for(timeout=60_000)
        uploaded_at = time.monotonic()
        # Within a second, the other worker answers from it.
        while FACT not in (answer := ask(cluster["api-2"], token)[0]):
            assert time.monotonic() - uploaded_at < 1.0, (
                f"api-2 does not know it yet: {answer[:300]}"
            )
        page.screenshot(path=OUTPUT / "cluster-uploaded-on-app-1.png", full_page=True)
        assert set(served_by) == {"app-1"}, (
            f"not every request of the page went to app-1: {served_by}"
        )
        through_nginx = [ask(cluster["api"], token) for _ in range(2)]
        assert all(FACT in text for text, _ in through_nginx)
        assert {replica for _, replica in through_nginx} == {"api-1", "api-2"}

        # The same browser moved to app-2: still signed in; it deletes the document there.
        pin(context, cluster["app"], cookies["app-2"])
        served_by.clear()
        page.goto(cluster["app"] + "/library")
        page.get_by_label("Document", exact=True).wait_for(timeout=30_000)
        page.get_by_label("Document", exact=True).click()
        page.get_by_role("option", name="coin-counting-service").click()
        idle(page)
        page.get_by_text("Yes, delete coin-counting-service from search").click()
        page.get_by_role("button", name="Delete document").click()
        page.get_by_text("Deleted:").wait_for(timeout=30_000)
        page.screenshot(path=OUTPUT / "cluster-deleted-on-app-2.png", full_page=True)
        assert set(served_by) == {"app-2"}, (
            f"not every request of the page went to app-2: {served_by}"
        )
        browser.close()
    # Nothing stale: not on the worker that answered from it, nor on either through nginx.
    for text, replica in [
        ask(cluster["api-1"], token),
        *(ask(cluster["api"], token) for _ in range(2)),
    ]:
        assert FACT not in text and "coin-counting-service" not in text, (
            f"stale on {replica or 'api-1'}"
        )


def test_nginx_serves_the_app_and_balances_both_tiers(cluster):
    page = httpx.get(cluster["app"] + "/")
    assert page.status_code == 200 and "<html" in page.text.lower()
    health = httpx.get(cluster["app"] + "/_stcore/health")
    assert (health.status_code, health.text) == (200, "ok")
    # New browsers spread over both replicas; each stays on its own (its cookie decides).
    first_visits = [httpx.get(cluster["app"] + "/_stcore/health") for _ in range(24)]
    assert {r.headers[REPLICA] for r in first_visits} == {"app-1", "app-2"}
    for visit in first_visits[:4]:
        again = httpx.get(cluster["app"] + "/_stcore/health", cookies=visit.cookies)
        assert again.headers[REPLICA] == visit.headers[REPLICA]
    # The API: both workers answer in turn, with the same paths as `kb serve`.
    answered_by = Counter(ask(cluster["api"], cluster["token"])[1] for _ in range(6))
    assert answered_by == Counter({"api-1": 3, "api-2": 3})
    assert httpx.get(cluster["api"] + "/openapi.json").status_code == 200
    status = subprocess.run([CLUSTER, "status"], env=cluster["env"], capture_output=True, text=True)
    assert status.returncode == 0, status.stdout + status.stderr
    assert status.stdout.count("healthy") == 5, status.stdout
