"""The console in a browser against the running services (issue 11): one dispute from the
clerk's registration (a bad ID number refused next to its field first) through the
mediator's acceptance, a session held and recorded, a written agreement drafted, signed and
sealed, a follow-up visit, the joint application, the judge's acceptance and ruling, to the signed ruling's PDF;
the supervisor's board counts the ruling, the party's code page shows it; a police officer of
another station is refused the case; each role's main page is photographed into
.state/screenshots."""

from __future__ import annotations

import random
import re
from datetime import UTC, date, datetime, timedelta

import pytest

from liandiao.devtools.province import resident_id
from liandiao.legaltime import CHINA_TZ
from liandiao.personnel.v1 import personnel_pb2
from liandiao.reference import dispute_types
from tests.browser.conftest import SCREENSHOTS
from tests.e2e.support import OPERATOR

pytestmark = pytest.mark.e2e
STEP = 60_000   # ms: a step that waits for the event flow (routing's offer, mediation's case)


async def sign_in(page, base: str, key: str) -> None:
    await page.goto(f"{base}/sign-in")
    await page.select_option("#user", key)
    await page.get_by_role("button", name="登录").click()
    await page.wait_for_load_state()


async def shot(page, name: str) -> None:
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


async def _placeable(stubs, prov):
    """A township and a dispute type some on-duty mediator of the county covers, so that routing
    can offer the dispute at once (rather than leave it unplaced)."""
    listed = await stubs["personnel"].ListPeople(personnel_pb2.ListPeopleRequest(
        role=personnel_pb2.ROLE_MEDIATOR, region_prefix="1505", page={"page_size": 200}), metadata=OPERATOR)
    for county in prov.counties:
        for town in county.townships:
            for p in listed.people:
                if p.specialties and any(town.code.startswith(r) or r.startswith(town.code) for r in p.region_codes):
                    return county, town, p.specialties[0]
    pytest.fail("no mediator covers a seeded township")


async def figure(page, base: str, region: str, key: str) -> float | None:
    """A board figure's current value as the page shows it (None: not available)."""
    await page.goto(f"{base}/board?region={region}")
    raw = await page.locator(f"tr[data-figure='{key}']").get_attribute("data-value")
    return float(raw) if raw else None


async def board_counts(page, base: str, region: str, at_least: dict[str, float] | None = None) -> dict[str, float]:
    """The board's counts of disputes and valid rulings of ``region``; with ``at_least``, read
    again (statistics takes the events in as they come) until every figure has reached it."""
    keys = ("disputes", "valid_rulings")
    for _ in range(120):
        got = {k: (await figure(page, base, region, k)) or 0.0 for k in keys}
        if at_least is None or all(got[k] >= at_least[k] for k in keys):
            return got
        await page.wait_for_timeout(500)
    return got


def _cst(at: datetime) -> str:
    return at.astimezone(CHINA_TZ).strftime("%Y-%m-%dT%H:%M")


async def test_a_dispute_from_registration_to_the_signed_ruling_in_the_browser(console, page_of):
    proc, stubs, prov, people = console
    base = proc.url
    county, town, dtype = await _placeable(stubs, prov)
    rng = random.Random(1101)
    good_id = resident_id(rng, town.code, date(1980, 3, 4), True)
    respondent_id = resident_id(rng, town.code, date(1975, 6, 7), False)
    bad_id = good_id[:-1] + ("0" if good_id[-1] != "0" else "1")   # the check character wrong
    page = page_of
    region = county.division.code

    # The supervisor's board before: the county's disputes and valid rulings this quarter.
    await sign_in(page, base, "supervisor-1505")
    before = await board_counts(page, base, region)

    # The clerk registers; the bad ID number is refused next to its field, nothing is stored.
    await sign_in(page, base, f"clerk-{county.division.code}")
    await page.goto(f"{base}/disputes/new")
    await page.select_option("#region_code", town.code)
    await page.select_option("#dispute_type", dtype)
    await page.fill("#facts", "两家因排水沟发生争执，请求调解。")
    await page.fill("#amount_yuan", "1200")
    await page.fill("[id='parties[0].name']", "巴特尔")
    await page.fill("[id='parties[0].id_document.number']", bad_id)
    await page.fill("[id='parties[0].phone']", "13912345678")
    await page.fill("[id='parties[0].address']", "大林镇一村1号")
    await page.fill("[id='parties[1].name']", "王秀英")
    await page.fill("[id='parties[1].id_document.number']", respondent_id)
    await page.fill("[id='parties[1].address']", "大林镇一村2号")
    await page.get_by_role("button", name="提交登记").click()
    error = page.locator("[id='parties[0].id_document.number-error']")
    await error.wait_for()
    assert await page.locator("[id='parties[0].id_document.number']").get_attribute("aria-invalid") == "true"
    assert "登记未成功" in await page.content()
    await page.fill("[id='parties[0].id_document.number']", good_id)
    await page.get_by_role("button", name="提交登记").click()
    await page.get_by_text("登记成功。").wait_for()
    dispute_url = page.url.split("?")[0]
    dispute_id = dispute_url.rsplit("/", 1)[1]
    # Masked on the page: the full number is nowhere in it.
    assert good_id not in await page.content() and good_id[-4:] in await page.content()
    # The receipt's case code, which the clerk hands to the parties.
    case_code = (await page.locator("#case-code").inner_text()).strip()
    assert re.fullmatch(r"[0-9A-Z]{5}-[0-9A-Z]{5}", case_code), case_code
    offered = page.locator("#placement [data-status='1']")
    await offered.wait_for(timeout=STEP)      # htmx polls the placement panel
    mediator_id = await page.locator("#placement [data-mediator]").get_attribute("data-mediator")
    assert "还剩" in await page.locator("#placement").inner_text()      # the 3 working days, counted
    await page.goto(f"{base}/disputes")
    await shot(page, "clerk-queue")

    # The mediator accepts the offer (htmx replaces the row), and the case opens.
    await sign_in(page, base, f"mediator-{mediator_id}")
    row = page.locator(f"tr[data-dispute='{dispute_id}']")
    await row.wait_for()
    await shot(page, "mediator-offers")
    await row.get_by_role("button", name="接受").click()
    await page.get_by_text("已接受，调解案件即将建立。").wait_for()
    for _ in range(60):
        await page.goto(f"{base}/mediator")
        link = page.locator("#cases a", has_text=dispute_types()[dtype].zh)
        if await link.count():
            break
        await page.wait_for_timeout(500)
    await page.goto(f"{base}/disputes/{dispute_id}")
    await page.locator("#placement a[href^='/cases/']").click()
    case_url = page.url
    await shot(page, "mediator-case")

    # A session scheduled, then recorded after it was held.
    when = datetime.now(UTC) + timedelta(minutes=10)
    await page.fill("#scheduled_for", _cst(when))
    await page.get_by_role("button", name="安排调解").click()
    await page.locator("#sessions .session-state", has_text="已安排").wait_for()
    held = datetime.now(UTC) - timedelta(minutes=50)
    await page.fill("#started_at-1", _cst(held))
    await page.fill("#ended_at-1", _cst(held + timedelta(minutes=30)))
    await page.fill("#statement-1", "要求赔偿修沟费用")
    await page.get_by_role("button", name="记录调解").click()
    await page.locator("#sessions .session-state", has_text="已举行").wait_for()

    # The written agreement from the template, every signature, the committee's seal.
    await page.fill("[id='content.parties[0].id_number']", good_id)
    await page.fill("[id='content.parties[0].address']", "大林镇一村1号")
    await page.fill("[id='content.parties[1].id_number']", respondent_id)
    await page.fill("[id='content.parties[1].address']", "大林镇一村2号")
    await page.fill("[id='content.facts']", "被申请人修排水沟时堵塞申请人院内排水，致院墙受损。")
    await page.fill("#amount_yuan", "1200")
    async with page.expect_navigation():
        await page.get_by_role("button", name="起草协议").click()
    assert not await page.locator(".error-summary").count(), await page.locator(".error-summary").inner_text()
    await page.locator("#agreement-state", has_text="草稿").wait_for()
    for _ in range(4):      # the two parties and the mediator, one form each
        if not await page.get_by_role("button", name="记录签名").count():
            break
        async with page.expect_navigation():
            await page.get_by_role("button", name="记录签名").first.click()
        assert not await page.locator(".error-summary").count(), await page.locator(".error-summary").inner_text()
    signed = await page.locator("#signed-by").inner_text()
    assert "巴特尔" in signed and "王秀英" in signed and "调解员" in signed      # who has signed
    await page.get_by_role("button", name="加盖调解委员会印章").click()
    await page.locator("#agreement-state", has_text="已生效").wait_for()
    assert "协议已生效" in await page.locator("#case-status").inner_text()

    # A follow-up visit (PML Art.31), from the keyboard: not performed without the next visit is
    # refused next to that field; with it, the visit is listed and on the timeline.
    await page.select_option("[id='follow_up.result']", "not")
    async with page.expect_navigation():
        await page.get_by_role("button", name="记录回访").press("Enter")
    assert "set the next visit" in await page.locator("[id='follow_up.next_visit_on-error']").inner_text()
    await page.select_option("[id='follow_up.result']", "partly")
    await page.fill("[id='follow_up.notes']", "已付600元")
    await page.fill("[id='follow_up.next_visit_on']", (datetime.now(CHINA_TZ).date() + timedelta(days=7)).isoformat())
    async with page.expect_navigation():
        await page.get_by_role("button", name="记录回访").press("Enter")
    assert "部分履行" in await page.locator("#follow-ups tr.follow-up").inner_text()
    assert "follow-up visit" in await page.locator("#timeline").inner_text()

    # The parties' joint application (once confirmation has the agreement from mediation's event).
    for _ in range(60):
        await page.goto(case_url)
        if await page.get_by_role("link", name="查看申请").count():
            break
        if await page.get_by_role("button", name="申请司法确认").count():
            await page.select_option("#court_org_id", county.basic_court)
            await page.get_by_role("button", name="申请司法确认").click()
        await page.wait_for_timeout(500)
    application_url = await page.get_by_role("link", name="查看申请").get_attribute("href")

    # The judge accepts and rules; the signed ruling downloads as a PDF.
    await sign_in(page, base, f"judge-{county.division.code}")
    await page.goto(base + "/applications")
    # The court's list shows the application, with its link (not an error page).
    await page.locator(f"a[href='{application_url}']").wait_for(timeout=STEP)
    await shot(page, "court-applications")
    await page.goto(base + application_url)
    assert "材料齐全" in await page.locator("#materials").inner_text()
    assert "建议受理" in await page.locator("#admissibility").inner_text()
    await page.get_by_role("button", name="受理", exact=True).click()
    await page.locator("#application-status", has_text="审查中").wait_for()
    await page.fill("#reasons", "协议系双方自愿达成，内容不违反法律规定。")
    await page.get_by_role("button", name="作出裁定").click()
    await page.locator("#ruling", has_text="确认调解协议有效").wait_for()
    assert re.search(r"民特\d+号", await page.locator("#ruling").inner_text())
    await shot(page, "court-ruling")
    async with page.expect_download() as download:
        await page.get_by_role("link", name="下载裁定书（PDF）").click()
    pdf = await (await download.value).path()
    assert open(pdf, "rb").read(5) == b"%PDF-"

    # The supervisor's board counts the new dispute and its valid ruling (statistics took the
    # events in); a figure of the three up is shown with its formula.
    await sign_in(page, base, "supervisor-1505")
    after = await board_counts(page, base, region, {"disputes": before["disputes"] + 1,
                                                    "valid_rulings": before["valid_rulings"] + 1})
    assert after["disputes"] >= before["disputes"] + 1 and after["valid_rulings"] >= before["valid_rulings"] + 1, (
        before, after)
    await page.locator("#by-subregion svg, #by-type svg").first.wait_for()
    assert "÷" in await page.locator("tr[data-figure='mediation_success_rate'] .formula").inner_text()
    await shot(page, "supervisor-board")

    # The party, with the code from the receipt and the last four digits of their phone, sees
    # the ruling (once intake's status has it), without signing in.
    party = await page.context.browser.new_context(locale="zh-CN")
    try:
        visitor = await party.new_page()
        for _ in range(60):
            await visitor.goto(f"{base}/party/")
            await visitor.fill("#code", case_code)
            await visitor.fill("#digits", "5678")
            await visitor.get_by_role("button").click()
            await visitor.wait_for_load_state()
            headline = visitor.locator("#headline")
            if await headline.count() and "裁定调解协议有效" in await headline.inner_text():
                break
            await visitor.wait_for_timeout(500)
        assert "人民法院已裁定调解协议有效" in await visitor.locator("#headline").inner_text()
        assert "王秀英" not in await visitor.content() and respondent_id not in await visitor.content()
        await shot(visitor, "party-status")
    finally:
        await party.close()

    # A police officer of another station is refused the dispute and its case.
    other = next(c for c in prov.counties if c.division.code != county.division.code)
    await sign_in(page, base, f"police-{other.division.code}")
    await shot(page, "police-referrals")
    for url in (dispute_url, case_url):
        response = await page.goto(url)
        assert response.status == 404
        assert "没有找到，或您无权查看" in await page.content()
        assert "巴特尔" not in await page.content()


async def test_liaison_supervisor_pages_and_english(console, page_of):
    """The other roles' main pages render for real people (the supervisor's chart drawn by the
    console's own ECharts), and the console reads in English when asked."""
    proc, _, prov, people = console
    base = proc.url
    page = page_of
    liaison = next(k for k in people if k.startswith("liaison-"))
    await sign_in(page, base, liaison)
    assert page.url.endswith("/warnings")
    await shot(page, "liaison-warnings")
    await sign_in(page, base, "operator")        # the data centre sees the province's board
    assert page.url.endswith("/board")
    await shot(page, "operator-board")
    await sign_in(page, base, "supervisor-1505")
    assert page.url.endswith("/board")
    await page.locator("#by-type svg").wait_for()       # drawn: ECharts came from /static/vendor
    await page.locator("#by-subregion svg").wait_for()
    # The ledger of an office of the region, for the quarter shown, as a spreadsheet and as CSV.
    async with page.expect_download() as xlsx:
        await page.get_by_role("button", name="导出 Excel（xlsx）").click()
    assert open(await (await xlsx.value).path(), "rb").read(2) == b"PK"      # a zip: xlsx
    async with page.expect_download() as csv:
        await page.get_by_role("button", name="导出 CSV").click()
    assert open(await (await csv.value).path(), "rb").read(3) == b"\xef\xbb\xbf"    # UTF-8 with BOM
    await page.get_by_role("link", name="English").click()
    await page.get_by_role("heading", name=re.compile("^Statistics board")).wait_for()
    assert "Three up, three down" in await page.content()
