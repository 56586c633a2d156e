"""The console on the real stack, in a real browser: the six services (tests/conftest.py's
``services`` and its seeded prefecture ``world``), the console as its own process, and
Debian's Chromium driven by Playwright (scripts/browser.sh installs it; `make test` runs it
first). A missing browser fails the tests: nothing is skipped silently."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from liandiao import db
from liandiao.devtools.localrun import REPO
from services.console import users
from services.console.devserver import ConsoleProcess
from tests.e2e.support import OPERATOR, eventually

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = REPO / ".state" / "screenshots"


@pytest.fixture(scope="session")
async def console(services, world, stack_env):
    """The console, its demo users (one of each role per county, every mediator) and the
    courts confirmation needs to know, for the seeded prefecture."""
    from liandiao.devtools.confirm import load_courts

    stubs, prov = world

    async def migrated():
        pool = await db.create_pool(stack_env["LIANDIAO_DATABASE_URL"], "confirmation")
        try:
            return await pool.fetchval("select to_regclass('courts') is not null")
        finally:
            await pool.close()
    await eventually(migrated)
    await asyncio.to_thread(load_courts, prov, stack_env, REPO / ".state")
    people = await users.users_for_province(stubs["personnel"], OPERATOR, prov)
    users_file = REPO / ".state" / "console-test-users.json"
    users.write(users_file, people)
    certs = stack_env.get("LIANDIAO_STACK_CERTS")
    proc = ConsoleProcess(addresses={s: services.address(s) for s in services.procs}, users_file=users_file,
                          log_file=REPO / ".state" / "logs" / "e2e" / "console.log",
                          tls=Path(certs) if certs else None).start()
    yield proc, stubs, prov, {u.key: u for u in people}
    proc.stop()


@pytest.fixture(scope="session")
async def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (scripts/browser.sh) to install Debian's chromium")
    from playwright.async_api import async_playwright

    clear_screenshots()
    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        await b.close()


def clear_screenshots() -> None:
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)


@pytest.fixture
async def page_of(browser, request):
    """A new browser page (Chinese first); on a failure its last screen and HTML are kept in
    .state/screenshots/failed-<test>.png/.html, to see what the person saw."""
    ctx = await browser.new_context(locale="zh-CN", accept_downloads=True)
    page = await ctx.new_page()
    yield page
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        name = request.node.name[:60]
        await page.screenshot(path=str(SCREENSHOTS / f"failed-{name}.png"), full_page=True)
        (SCREENSHOTS / f"failed-{name}.html").write_text(await page.content(), encoding="utf-8")
    await ctx.close()


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.rep_call = report
