"""Validation of the identifiers the platform handles.

* ``parse_resident_id``: citizen ID numbers (GB 11643-1999), HK/Macao/Taiwan residence permits,
  the 2023 foreigner permanent-residence card and legacy 15-digit numbers.
* ``parse_credit_code``: unified social credit codes (GB 32100-2015).
* ``normalize_mobile``: mainland mobile numbers.
* ``lookup`` / ``validate_region`` and friends: administrative divisions (GB/T 2260 and the NBS
  12-digit code), checked against the shipped list in ``data/``.
* ``mask_id`` / ``mask_phone``: what logs and list views show instead of the real number.

Everything is pure; the division list is read from the package once, on first use.
"""

from liandiao.ids.divisions import (
    Division,
    DivisionLevel,
    ancestors,
    children,
    data_source,
    detailed_provinces,
    lookup,
    prefecture_of,
    province_of,
    validate_region,
    validate_region_prefix,
)
from liandiao.ids.errors import InvalidIdentifier
from liandiao.ids.masking import mask_id, mask_name, mask_phone
from liandiao.ids.mobile import normalize_mobile
from liandiao.ids.resident_id import (
    IdKind,
    ResidentId,
    Sex,
    check_character,
    parse_resident_id,
)
from liandiao.ids.uscc import (
    CreditCode,
    InstitutionKind,
    RegistrationAuthority,
    credit_code_check_character,
    parse_credit_code,
)

__all__ = [
    "CreditCode",
    "Division",
    "DivisionLevel",
    "IdKind",
    "InstitutionKind",
    "InvalidIdentifier",
    "RegistrationAuthority",
    "ResidentId",
    "Sex",
    "ancestors",
    "check_character",
    "children",
    "credit_code_check_character",
    "data_source",
    "detailed_provinces",
    "lookup",
    "mask_id",
    "mask_name",
    "mask_phone",
    "normalize_mobile",
    "parse_credit_code",
    "parse_resident_id",
    "prefecture_of",
    "province_of",
    "validate_region",
    "validate_region_prefix",
]
