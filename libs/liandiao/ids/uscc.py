"""Unified social credit codes (GB 32100-2015 法人和其他组织统一社会信用代码编码规则).

Eighteen characters over the 31 symbols ``0-9 A-H J-N P-R T U W-Y`` (I, O, Z, S, V are never
used), valued 0–30 in that order: registration authority(1) institution kind(1) region code of
the registering office(6, GB/T 2260) subject identifier(9, the GB 11714 organisation code)
check(1). Check: S = Σ c_i·w_i over the first 17 with
w = 1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28, check = charset[(31 − S mod 31) mod 31].

Codes issued during the pilot before the standard settled sometimes fail the check yet are
legally valid, so a wrong check character is a warning, not a rejection. Authorities and kinds
were extended after 2015 by the national code centre; one missing from the tables below is also
a warning. Only a wrong length, a symbol outside the charset or a non-numeric region part is
refused.

The region part is not checked against the division list: national bodies register under 100000
and the office's code may since have been renumbered.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TypeVar

from liandiao.ids.errors import InvalidIdentifier

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_E = TypeVar("_E", bound=enum.Enum)
_VALUES = {symbol: value for value, symbol in enumerate(CHARSET)}


class RegistrationAuthority(enum.Enum):
    """First character: the registration administration (登记管理部门)."""

    ESTABLISHMENT = "1"  # 机构编制
    FOREIGN_AFFAIRS = "2"  # 外交
    JUDICIAL_ADMINISTRATION = "3"  # 司法行政
    CULTURE = "4"  # 文化
    CIVIL_AFFAIRS = "5"  # 民政
    TOURISM = "6"  # 旅游
    RELIGION = "7"  # 宗教
    TRADE_UNION = "8"  # 工会
    MARKET_REGULATION = "9"  # 工商 / 市场监管
    MILITARY_ESTABLISHMENT = "A"  # 中央军委改革和编制办公室
    AGRICULTURE = "N"  # 农业
    OTHER = "Y"  # 其他


class InstitutionKind(enum.Enum):
    """First two characters: authority plus institution kind (机构类别)."""

    ORGAN = "11"  # 机关
    PUBLIC_INSTITUTION = "12"  # 事业单位
    MASS_ORGANISATION = "13"  # 中央编办直接管理机构编制的群众团体
    ESTABLISHMENT_OTHER = "19"
    FOREIGN_NEWS_AGENCY = "21"  # 外国常驻新闻机构
    FOREIGN_AFFAIRS_OTHER = "29"
    LAW_FIRM = "31"  # 律师执业机构
    NOTARY_OFFICE = "32"  # 公证处
    LEGAL_SERVICE_OFFICE = "33"  # 基层法律服务所
    FORENSIC_EXAMINATION = "34"  # 司法鉴定机构
    ARBITRATION_COMMISSION = "35"  # 仲裁委员会
    COMMERCIAL_MEDIATION = "36"  # 商事调解组织 (added after 2015)
    JUDICIAL_OTHER = "39"
    FOREIGN_CULTURAL_CENTRE = "41"  # 外国在华文化中心
    CULTURE_OTHER = "49"
    SOCIAL_ORGANISATION = "51"  # 社会团体
    PRIVATE_NON_ENTERPRISE = "52"  # 民办非企业单位
    FOUNDATION = "53"  # 基金会
    VILLAGERS_COMMITTEE = "54"  # 村民委员会 (added after 2015)
    RESIDENTS_COMMITTEE = "55"  # 居民委员会 (added after 2015)
    CIVIL_AFFAIRS_OTHER = "59"
    FOREIGN_TOURISM_OFFICE = "61"  # 外国旅游部门常驻代表机构
    HK_MACAO_TW_TOURISM_OFFICE = "62"  # 港澳台地区旅游部门常驻内地代表机构
    TOURISM_OTHER = "69"
    RELIGIOUS_SITE = "71"  # 宗教活动场所
    RELIGIOUS_SCHOOL = "72"  # 宗教院校
    RELIGION_OTHER = "79"
    GRASSROOTS_UNION = "81"  # 基层工会
    TRADE_UNION_OTHER = "89"
    ENTERPRISE = "91"  # 企业
    INDIVIDUAL_BUSINESS = "92"  # 个体工商户
    FARMERS_COOPERATIVE = "93"  # 农民专业合作社
    MILITARY_INSTITUTION = "A1"  # 军队事业单位
    MILITARY_OTHER = "A9"
    GROUP_COLLECTIVE = "N1"  # 组级集体经济组织
    VILLAGE_COLLECTIVE = "N2"  # 村级集体经济组织
    TOWNSHIP_COLLECTIVE = "N3"  # 乡镇级集体经济组织
    AGRICULTURE_OTHER = "N9"
    OTHER = "Y1"


@dataclass(frozen=True, slots=True)
class CreditCode:
    """A checked credit code; ``warnings`` lists what was accepted despite not checking out."""

    code: str
    authority: RegistrationAuthority | None
    kind: InstitutionKind | None
    region_code: str
    organisation_code: str
    warnings: tuple[str, ...]


def credit_code_check_character(first17: str) -> str:
    """GB 32100-2015 check character for the first 17 characters."""
    if len(first17) != 17 or any(symbol not in _VALUES for symbol in first17):
        raise InvalidIdentifier(
            "the check character is computed from 17 charset symbols"
        )
    total = sum(
        _VALUES[symbol] * weight
        for symbol, weight in zip(first17, WEIGHTS, strict=True)
    )
    return CHARSET[(31 - total % 31) % 31]


def parse_credit_code(text: str) -> CreditCode:
    """Check a unified social credit code; lower case is accepted and upper-cased."""
    code = text.strip().upper()
    if len(code) != 18:
        raise InvalidIdentifier(f"a credit code has 18 characters, got {len(code)}")
    for position, symbol in enumerate(code, start=1):
        if symbol not in _VALUES:
            raise InvalidIdentifier(
                f"character {position} ({symbol!r}) is not used in credit codes"
                " (digits and A-Y without I, O, S, V, Z)"
            )
    if not code[2:8].isdigit():
        raise InvalidIdentifier(
            f"characters 3-8 ({code[2:8]}) must be digits: the registering office's region code"
        )
    warnings: list[str] = []
    expected = credit_code_check_character(code[:17])
    if code[17] != expected:
        warnings.append(
            f"check character mismatch: expected {expected}; accepted as a possible pilot code"
            " (GB 32100-2015 pilot exception)"
        )
    authority = _enum_or_none(RegistrationAuthority, code[0])
    kind = _enum_or_none(InstitutionKind, code[:2])
    if authority is None:
        warnings.append(f"registration authority {code[0]} is not in the known table")
    elif kind is None:
        warnings.append(
            f"institution kind {code[1]} is not known for authority {code[0]}"
        )
    return CreditCode(
        code=code,
        authority=authority,
        kind=kind,
        region_code=code[2:8],
        organisation_code=code[8:17],
        warnings=tuple(warnings),
    )


def _enum_or_none(cls: type[_E], value: str) -> _E | None:
    try:
        return cls(value)
    except ValueError:
        return None
