"""The bad-input corpus: files shaped like what platforms actually send, each with its outcome.

Every case is a file name, a function that writes the file (tiny, except the few size cases)
and what ingest must make of it: one :class:`Expect` per summary (one per sheet of a
workbook), with the status, the number of quarantined rows and a pattern that a quarantine
reason (or, for a refused file, the message) must match. :func:`write_corpus` writes them all
into a directory at test time; nothing binary is committed.

Dates in valid rows lie in the past; "the future" is measured from the day the test runs, so
the corpus never ages into a different outcome.
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from risk.identifiers import make_uscc

__all__ = ["CASES", "ID_NUMBERS", "Case", "Expect", "write_corpus"]

COUNTY = "341122"  # 安徽省滁州市来安县
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def resident_id(first17: str) -> str:
    """``first17`` and its GB 11643 mod 11-2 check character."""
    total = sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return first17 + "10X98765432"[total % 11]


ID_X = resident_id("11010519491231002")  # 11010519491231002X, the standard's example
ID_B = resident_id("34112219900307123")  # ends in 9: parses as a number
ID_C = resident_id("34112219851111001")
ID_D = resident_id("32050219880808003")
#: Every ID number the corpus holds: none may be found in the store, a log or the output.
ID_NUMBERS = (ID_X, ID_B, ID_C, ID_D)
HASH = "ab" * 32
FUTURE = (date.today() + timedelta(days=400)).isoformat()


def code(n: int) -> str:
    """A valid USCC of a company registered in the county."""
    return make_uscc("9", "1", COUNTY, f"MC{n:07d}")


def wrong_check(valid: str) -> str:
    return valid[:17] + ("0" if valid[17] != "0" else "1")


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


ENT = [
    "uscc",
    "name",
    "kind",
    "status",
    "industry",
    "region",
    "registered_capital",
    "founded",
    "closed",
]
ROLES = ["uscc", "holder_type", "holder_id", "role", "share", "start", "end"]
RECORDS = [
    "record_id",
    "subject_type",
    "subject_id",
    "subject_name",
    "kind",
    "domain",
    "severity",
    "authority",
    "decided",
    "publicity_end",
    "repaired",
    "removed",
    "amount",
]
LOANS = [
    "loan_id",
    "uscc",
    "bank",
    "applied",
    "approved_amount",
    "drawn_amount",
    "term_months",
    "status",
    "status_date",
]
FINANCIALS = [
    "uscc",
    "period",
    "tax_paid",
    "tax_grade",
    "insured_employees",
    "utility_on_time",
    "procurement_amount",
]
PERSONS = ["person_id", "name", "id_hash", "id_masked"]


def ent(n: int, **changes: str) -> list[str]:
    row = {
        "uscc": code(n),
        "name": f"来安县{n}号有限公司",
        "kind": "company",
        "status": "active",
        "industry": "C",
        "region": COUNTY,
        "registered_capital": "100",
        "founded": "2020-01-05",
        "closed": "",
    }
    return [*(row | changes).values()]


def role(n: int, **changes: str) -> list[str]:
    row = {
        "uscc": code(n),
        "holder_type": "person",
        "holder_id": f"P-{n}",
        "role": "legal_rep",
        "share": "",
        "start": "2020-01-05",
        "end": "",
    }
    return [*(row | changes).values()]


def rec(n: int, **changes: str) -> list[str]:
    row = {
        "record_id": f"来环罚〔2024〕{n}号",
        "subject_type": "enterprise",
        "subject_id": code(n),
        "subject_name": f"来安县{n}号有限公司",
        "kind": "administrative_penalty",
        "domain": "ecology_environment",
        "severity": "general",
        "authority": "来安县生态环境分局",
        "decided": "2024-03-01",
        "publicity_end": "",
        "repaired": "",
        "removed": "",
        "amount": "2",
    }
    return [*(row | changes).values()]


def loan(n: int, **changes: str) -> list[str]:
    row = {
        "loan_id": f"L-{n}",
        "uscc": code(n),
        "bank": "来安农商银行",
        "applied": "2024-01-10",
        "approved_amount": "100",
        "drawn_amount": "80",
        "term_months": "12",
        "status": "performing",
        "status_date": "2024-06-30",
    }
    return [*(row | changes).values()]


def person(n: int, **changes: str) -> list[str]:
    row = {
        "person_id": f"P-{n}",
        "name": "张三",
        "id_hash": HASH,
        "id_masked": "110105********002X",
    }
    return [*(row | changes).values()]


def financial(n: int, **changes: str) -> list[str]:
    row = {
        "uscc": code(n),
        "period": "2024",
        "tax_paid": "12.5",
        "tax_grade": "B",
        "insured_employees": "8",
        "utility_on_time": "0.95",
        "procurement_amount": "",
    }
    return [*(row | changes).values()]


# --------------------------------------------------------------------------- writers


def csv_text(rows: Sequence[Sequence[str]], delimiter: str = ",", newline: str = "\n") -> str:
    """Rows joined as they are (cells holding quotes or commas are written on purpose)."""
    return "".join(delimiter.join(row) + newline for row in rows)


def write_csv(
    path: Path,
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    encoding: str = "utf-8",
    newline: str = "\n",
    delimiter: str = ",",
) -> None:
    path.write_bytes(csv_text([header, *rows], delimiter, newline).encode(encoding))


def workbook(sheets: dict[str, list[list[Any]]]) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def with_cached_value(data: bytes, cell: str, value: str) -> bytes:
    """Give a formula cell written by openpyxl (which stores no results) a cached value."""
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        parts = {name: book.read(name) for name in book.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    start = sheet.index(f'<c r="{cell}"')
    end = sheet.index("</c>", start)
    patched = sheet[start:end].replace("<v />", f"<v>{value}</v>")
    parts["xl/worksheets/sheet1.xml"] = (sheet[:start] + patched + sheet[end:]).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as book:
        for name, part in parts.items():
            book.writestr(name, part)
    return buffer.getvalue()


def parquet(frame: pd.DataFrame | pa.Table) -> bytes:
    table = frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(frame)
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


# --------------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Expect:
    """One summary's outcome: status, quarantined rows, a reason (or message) pattern."""

    status: str
    quarantined: int = 0
    pattern: str | None = None
    sheet: str | None = None


@dataclass(frozen=True)
class Case:
    """A corpus file: its name, its writer and the outcome of each of its summaries.

    ``encoding`` is how the test decodes a text file to count its lines itself;
    ``continuation_lines`` are physical lines inside quoted multi-line cells.
    """

    name: str
    write: Callable[[Path], None]
    expect: tuple[Expect, ...]
    encoding: str = "utf-8"
    continuation_lines: int = 0


CASES: list[Case] = []


def case(
    name: str, *expect: Expect, encoding: str = "utf-8", continuation_lines: int = 0
) -> Callable[[Callable[[Path], None]], Callable[[Path], None]]:
    def register(write: Callable[[Path], None]) -> Callable[[Path], None]:
        CASES.append(Case(name, write, expect, encoding, continuation_lines))
        return write

    return register


def csv_case(
    name: str,
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    *expect: Expect,
    **options: Any,
) -> None:
    """A CSV case written by :func:`write_csv`."""

    def write(path: Path) -> None:
        write_csv(path, header, rows, **options)

    encoding = options.get("encoding", "utf-8")
    CASES.append(Case(name, write, expect, encoding))


OK = Expect("ok")
ID_REASON = r"must not hold a resident ID number; got .*\*{8}"

# ----- identifiers: USCC

csv_case(
    "enterprises_uscc_bad_check.csv",
    ENT,
    [ent(101), ent(102, uscc=wrong_check(code(102))), ent(103)],
    Expect("ok", 1, r"uscc check character must be"),
)
csv_case(
    "enterprises_uscc_normalised.csv",
    ENT,
    [
        ent(104, uscc=full_width(code(104).lower())),
        ent(105, uscc=f" {code(105)[:9]} {code(105)[9:]}"),
    ],
    OK,
)
csv_case(
    "enterprises_uscc_length.csv",
    ENT,
    [ent(106, uscc=code(106)[:17]), ent(107, uscc=code(107) + "1"), ent(108)],
    Expect("ok", 2, r"uscc must be 18 characters"),
)
csv_case(
    "enterprises_uscc_letters.csv",
    ENT,
    [ent(109, uscc=code(109)[:9] + "I" + code(109)[10:]), ent(110)],
    Expect("ok", 1, r"no I, O, S, V, Z"),
)
csv_case(
    "enterprises_uscc_empty.csv",
    ENT,
    [ent(111, uscc=""), ent(112)],
    Expect("ok", 1, r"uscc is required; got an empty cell"),
)
csv_case(
    "enterprises_duplicate_key.csv",
    ENT,
    [ent(113), ent(113, name="来安县重复公司"), ent(114)],
    Expect("ok", 2, r"duplicate key \(uscc=.*\) also at row\(s\)"),
)

# ----- identifiers: resident ID numbers, in their own column and everywhere else

csv_case(
    "persons_id_number_valid.csv",
    ["person_id", "name", "身份证号"],
    [["P-101", "张三", ID_X.lower()], ["P-102", "李四", ID_B]],
    OK,
)
csv_case(
    "persons_id_number_invalid.csv",
    ["person_id", "name", "id_number"],
    [
        ["P-103", "王五", wrong_check(ID_C)],
        ["P-104", "赵六", "1101051949123"],
        ["P-105", "孙七", "110105194913310021"],  # month 13
        ["P-106", "周八", ID_D],
    ],
    Expect("ok", 3, r"id_number: resident ID"),
)
csv_case(
    "persons_id_masked.csv",
    PERSONS,
    [person(107), person(108, id_masked=ID_B), person(109, id_masked="3411**1239")],
    Expect("ok", 2, r"id_masked must (not hold a resident ID number|be like 340321)"),
)
csv_case(
    "persons_id_hash.csv",
    PERSONS,
    [person(110, id_hash=ID_X), person(111, id_hash="xyz"), person(112)],
    Expect("ok", 2, r"id_hash must be 64 hexadecimal characters"),
)
csv_case(
    "persons_id_in_person_id_and_name.csv",
    PERSONS,
    [person(113, person_id=ID_B), person(114, name=f"王{ID_C}"), person(115)],
    Expect("ok", 2, ID_REASON),
)
csv_case(
    "roles_id_in_holder_id.csv",
    ROLES,
    [role(116, holder_id=ID_X), role(117)],
    Expect("ok", 1, r"holder_id " + ID_REASON),
)
csv_case(
    "records_id_in_text_columns.csv",
    RECORDS,
    [
        rec(118, record_id=f"来环罚{ID_B}号"),
        rec(119, subject_type="person", subject_id=ID_C),
        rec(120, subject_name=f"张三（{ID_X}）"),
        rec(121, authority=f"来安县{ID_D}"),
        rec(122, amount=ID_B),  # an ID number ending in a digit parses as a number
        rec(123),
    ],
    Expect("ok", 5, ID_REASON),
)
csv_case(
    "loans_id_in_loan_id_and_bank.csv",
    LOANS,
    [loan(124, loan_id=ID_B), loan(125, bank=f"来安农商银行{ID_X}"), loan(126)],
    Expect("ok", 2, ID_REASON),
)
csv_case(
    "enterprises_id_full_width_or_spaced.csv",
    ENT,
    [
        ent(127, name=f"来安县{full_width(ID_B)}商行"),
        ent(128, name=f"来安县 {ID_C[:6]} {ID_C[6:14]} {ID_C[14:]}"),
        ent(129, name=f"来安县{ID_D[:6]}\u3000{ID_D[6:]}"),
        ent(130),
    ],
    Expect("ok", 3, ID_REASON),
)
csv_case(f"enterprises_{ID_X}.csv", ENT, [ent(131)], OK)
csv_case(f"{ID_B}_notes.csv", ["foo", "bar"], [["1", "2"]], Expect("refused", 0, r"cannot tell"))
csv_case(
    "enterprises_id_in_ignored_column.csv",
    [*ENT, "备注"],
    [[*ent(132), ID_X], [*ent(133, kind="limited"), ID_B]],
    Expect("ok", 1, r"kind must be one of"),
)


def _every_column(base: list[str], header: list[str], number: str) -> list[list[str]]:
    """One row per column, each with the ID number in that column."""
    rows = []
    for i in range(len(header)):
        row = list(base)
        row[i] = number
        rows.append(row)
    return rows


csv_case(
    "enterprises_id_in_every_column.csv",
    ENT,
    _every_column(ent(134), ENT, ID_B),
    Expect("ok", len(ENT), ID_REASON),
)
csv_case(
    "roles_id_in_every_column.csv",
    ROLES,
    _every_column(role(135), ROLES, ID_B),
    Expect("ok", len(ROLES), ID_REASON),
)
csv_case(
    "records_id_in_every_column.csv",
    RECORDS,
    _every_column(rec(136), RECORDS, ID_B),
    Expect("ok", len(RECORDS), ID_REASON),
)
csv_case(
    "loans_id_in_every_column.csv",
    LOANS,
    _every_column(loan(137), LOANS, ID_B),
    Expect("ok", len(LOANS), ID_REASON),
)

# ----- dates

csv_case(
    "records_date_formats.csv",
    RECORDS,
    [
        rec(140, decided="2024/03/01"),
        rec(141, decided="20240302"),
        rec(142, decided="2024年3月3日"),
        rec(143, decided="2024-03-04 10:00:00"),
        rec(144, decided="2024.3.5"),
    ],
    OK,
)
csv_case(
    "records_date_impossible.csv",
    RECORDS,
    [
        rec(145, decided="2024-02-30"),
        rec(146, decided="2023-13-01"),
        rec(147, decided="1899-12-31"),
        rec(148, decided="yesterday"),
        rec(149, decided="2024-2-29"),
    ],
    Expect("ok", 4, r"decided must be a (real calendar date|date like 2024-05-31)"),
)
csv_case(
    "records_date_future.csv",
    RECORDS,
    [
        rec(150, decided=FUTURE),
        rec(151, decided="2099-06-01"),
        rec(152, decided="2024-01-01", repaired=FUTURE),
        rec(153, decided="2024-01-02", publicity_end="9999-12-31"),  # 长期: allowed
    ],
    Expect("ok", 3, r"must not be after the ingest day \(\d{4}-\d\d-\d\d\)"),
)
csv_case(
    "enterprises_date_future.csv",
    ENT,
    [ent(154, founded=FUTURE), ent(155, closed=FUTURE), ent(156)],
    Expect("ok", 2, r"(founded|closed) must not be after the ingest day"),
)
csv_case(
    "loans_dates.csv",
    LOANS,
    [loan(157, status_date="2023-12-31"), loan(158, applied=FUTURE), loan(159)],
    Expect("ok", 2, r"status_date must be on or after applied"),
)
csv_case(
    "roles_end.csv",
    ROLES,
    [role(160, end="2019-01-01"), role(161, end=FUTURE)],  # an end may lie in the future
    Expect("ok", 1, r"end must be after start"),
)

# ----- enums

csv_case(
    "enterprises_enum_unknown.csv",
    ENT,
    [ent(162, kind="limited"), ent(163, status="closed"), ent(164)],
    Expect("ok", 2, r"kind must be one of company, individual_business"),
)
csv_case(
    "enterprises_enum_chinese.csv",
    ENT,
    [ent(165, kind="有限责任公司", status="存续"), ent(166, kind="COMPANY", status="注销")],
    OK,
)
csv_case(
    "records_enum_bad.csv",
    RECORDS,
    [rec(167, domain="space"), rec(168, severity="extreme"), rec(169, kind="行政处罚")],
    Expect("ok", 2, r"(domain|severity) must be one of"),
)
csv_case(
    "loans_status.csv",
    LOANS,
    [loan(170, status="逾期30天"), loan(171, status="late")],
    Expect("ok", 1, r"status must be one of performing"),
)

# ----- numbers

csv_case(
    "loans_integer_overflow.csv",
    LOANS,
    [
        loan(172, term_months="1e15"),
        loan(173, term_months="2147483648"),
        loan(174, term_months="12.5"),
        loan(175, term_months="-3"),
        loan(176, term_months="2147483647"),
        loan(177),
    ],
    Expect("ok", 4, r"term_months must be at most 2147483647 \(the store's integer range\)"),
)
csv_case(
    "enterprises_numbers.csv",
    ENT,
    [
        ent(178, registered_capital='"1,000"'),
        ent(179, registered_capital="１００"),
        ent(180, registered_capital="1e3"),
        ent(181, registered_capital="NaN"),
        ent(182, registered_capital="inf"),
        ent(183, registered_capital="-5"),
        ent(184, registered_capital="1e400"),
        ent(185, registered_capital="1e-320"),
        ent(186, registered_capital="1.7976931348623157e308"),
    ],
    Expect("ok", 4, r"registered_capital must be (a number|≥ 0)"),
)
csv_case(
    "roles_share.csv",
    ROLES,
    [
        role(187, role="shareholder", share="150%"),
        role(188, role="shareholder", share="-0.1"),
        role(189, role="shareholder", share="0.5"),
        role(190, role="shareholder", share="50%"),
    ],
    Expect("ok", 2, r"share must be between 0 and 1"),
)
csv_case(
    "financials_values.csv",
    FINANCIALS,
    [
        financial(191, period="2024Q5"),
        financial(192, period="24"),
        financial(193, tax_grade="E"),
        financial(194, utility_on_time="1.2"),
        financial(195, insured_employees="3.5"),
        financial(196),
    ],
    Expect("ok", 5, r"(period must be YYYY or YYYYQn|must be a whole number)"),
)
csv_case(
    "enterprises_region_industry.csv",
    ENT,
    [
        ent(197, region="991122"),
        ent(198, region="34112"),
        ent(199, region=full_width(COUNTY)),
        ent(200, industry="Z"),
        ent(201, industry="c"),
    ],
    Expect("ok", 3, r"(region must be a 6-digit|industry must be a GB/T 4754)"),
)
csv_case(
    "loans_drawn_above_approved.csv",
    LOANS,
    [loan(202, drawn_amount="120"), loan(203)],
    Expect("ok", 1, r"drawn_amount must not exceed approved_amount"),
)

# ----- encodings and line endings

csv_case("enterprises_crlf.csv", ENT, [ent(210), ent(211)], OK, newline="\r\n")
csv_case("enterprises_cr.csv", ENT, [ent(212), ent(213)], OK, newline="\r")
CASES.append(
    Case(
        "enterprises_bom.csv",
        lambda p: p.write_bytes(b"\xef\xbb\xbf" + csv_text([ENT, ent(214)]).encode()),
        (OK,),
    )
)
csv_case(
    "企业登记信息_gb18030.csv",
    [
        *("统一社会信用代码", "企业名称", "市场主体类型", "登记状态", "行业门类"),
        *("行政区划代码", "注册资本（万元）", "成立日期"),
    ],
    [
        [code(215), "来安县刘䶮商贸有限公司", "公司", "存续", "F", COUNTY, "50", "2019-03-08"],
        [code(216), "来安县张记面馆", "个体工商户", "在业", "H", COUNTY, "", "2021-07-01"],
    ],
    OK,
    encoding="gb18030",
)
csv_case(
    "enterprises_utf16_tab.csv",
    ENT,
    [ent(217), ent(218)],
    OK,
    encoding="utf-16",
    delimiter="\t",
)
csv_case("enterprises_utf16_comma.csv", ENT, [ent(219)], OK, encoding="utf-16")
csv_case(
    "enterprises_utf16_no_bom.csv",
    ENT,
    [ent(220)],
    Expect("refused", 0, r"header row holds NUL bytes.*UTF-16"),
    encoding="utf-16-le",
)


@case("enterprises_mixed_line_endings.csv", OK)
def _mixed_endings(path: Path) -> None:
    lines = [",".join(r) for r in (ENT, ent(221), ent(222), ent(223))]
    path.write_bytes((lines[0] + "\r\n" + lines[1] + "\n" + lines[2] + "\r" + lines[3]).encode())


@case(
    "enterprises_latin1.csv", Expect("refused", 0, r"must be UTF-8 or GB18030"), encoding="latin-1"
)
def _latin1(path: Path) -> None:
    path.write_bytes(csv_text([ENT, ent(224, name="Café, Straße")]).encode("latin-1"))


@case("enterprises_blank_lines.csv", OK)
def _blank_lines(path: Path) -> None:
    text = csv_text([ENT, ent(225)]) + "\n" + ",,,,,,,,\n" + "   \n" + csv_text([ent(226)])
    path.write_bytes(text.encode())


# ----- truncation


@case("enterprises_truncated_row.csv", Expect("ok", 1, r"row has 3 fields; the header has 9"))
def _truncated_row(path: Path) -> None:
    path.write_bytes((csv_text([ENT, ent(230)]) + f"{code(231)},来安县丙有限公司,comp").encode())


@case("enterprises_truncated_in_a_character.csv", Expect("ok", 1, r"row has 2 fields"))
def _truncated_char(path: Path) -> None:
    path.write_bytes((csv_text([ENT, ent(232)]) + f"{code(233)},").encode() + "丙丁".encode()[:4])


csv_case("enterprises_header_only.csv", ENT, [], OK)


@case("enterprises_empty.csv", Expect("refused", 0, r"file is empty"))
def _empty(path: Path) -> None:
    path.write_bytes(b"")


@case("enterprises_truncated_in_a_quote.csv", Expect("ok", 1, r"malformed CSV quoting"))
def _truncated_quote(path: Path) -> None:
    path.write_bytes((csv_text([ENT, ent(234)]) + f'{code(235)},"来安县丙有').encode())


# ----- quoting

csv_case(
    "enterprises_unclosed_quote.csv",
    ENT,
    [ent(240), ent(241, name='"来安县乙有限公司'), ent(242), ent(243), ent(244)],
    Expect("ok", 1, r"malformed CSV quoting: a quote opened in this field is never closed"),
)
csv_case(
    "enterprises_quote_closed_mid_field.csv",
    ENT,
    [ent(245), ent(246, name='"来安县"乙有限公司'), ent(247)],
    Expect("ok", 1, r"malformed CSV quoting"),
)
CASES.append(
    Case(
        "enterprises_multiline_cell.csv",
        lambda p: write_csv(p, ENT, [ent(248, name='"来安县甲\n有限公司"'), ent(249)]),
        (OK,),
        continuation_lines=1,
    )
)
csv_case("enterprises_escaped_quotes.csv", ENT, [ent(250, name='"来安县""甲""有限公司"')], OK)
csv_case(
    "enterprises_extra_fields.csv",
    ENT,
    [ent(251), [*ent(252), "surplus"]],
    Expect("ok", 1, r"row has 10 fields; the header has 9"),
)

# ----- NUL bytes

csv_case(
    "enterprises_nul_in_name.csv",
    ENT,
    [ent(255, name="来安县\x00甲公司"), ent(256)],
    Expect("ok", 1, r"name must not contain a NUL byte; got '来安县\\\\x00甲公司'"),
)
csv_case(
    "records_nul_in_authority.csv",
    RECORDS,
    [rec(257, authority="来安县\x00生态环境分局"), rec(258)],
    Expect("ok", 1, r"authority must not contain a NUL byte"),
)
csv_case(
    "enterprises_nul_in_an_ignored_column.csv",
    [*ENT, "备注"],
    [[*ent(259), "x\x00y"], [*ent(260, kind="limited"), "x\x00y"]],
    Expect("ok", 1, r"kind must be one of"),
)

# ----- huge cells, many columns

csv_case(
    "enterprises_huge_cell.csv",
    ENT,
    [ent(261, name="甲" * 200_000), ent(262)],
    Expect("ok", 1, r"name must be at most 200 characters; got 200000"),
)
csv_case(
    "records_huge_enum_cell.csv",
    RECORDS,
    [rec(263, kind="x" * 200_000), rec(264)],
    Expect("ok", 1, r"kind must be one of .*\(200,000 characters\)"),
)
_EXTRA = [f"extra_column_{i}" for i in range(5_000 - len(ENT))]
csv_case(
    "enterprises_5000_columns.csv",
    [*ENT, *_EXTRA],
    [[*ent(265), *(["1"] * len(_EXTRA))], [*ent(266, kind="limited"), *([""] * len(_EXTRA))]],
    Expect("ok", 1, r"kind must be one of"),
)
csv_case(
    "enterprises_long_header.csv",
    [ENT[0], "说明" * 150, *ENT[1:]],
    [[code(267), "x", *ent(267)[1:]], [code(268)]],
    Expect("ok", 1, r"row has 1 fields"),
)

# ----- headers

csv_case(
    "enterprises_duplicate_header.csv",
    [*ENT, "name"],
    [[*ent(270), "乙"]],
    Expect("refused", 0, r"header 'name' appears more than once \(columns 2 and 10\)"),
)
csv_case(
    "enterprises_duplicate_header_full_width.csv",
    [*ENT, "ｎａｍｅ"],
    [[*ent(271), "乙"]],
    Expect("refused", 0, r"appears more than once"),
)
csv_case(
    "enterprises_missing_column.csv",
    ENT[:7],
    [ent(272)[:7]],
    Expect("refused", 0, r"table 'enterprises' requires column\(s\) founded; file refused"),
)
csv_case("zz_unknown_table.csv", ["foo", "bar"], [["1", "2"]], Expect("refused", 0, r"cannot tell"))
csv_case(
    "enterprises_header_quote.csv",
    ['"uscc', *ENT[1:]],
    [ent(273)],
    Expect("refused", 0, r"header row has malformed quoting"),
)

# ----- XLSX


def _cells(row: list[str]) -> list[Any]:
    return [cell if cell != "" else None for cell in row]


@case(
    "county_workbook.xlsx",
    Expect("ok", 1, r"kind must be one of", sheet="enterprises"),
    Expect("ok", 0, sheet="records"),
    Expect("ok", 0, sheet="Sheet3"),  # roles, told by its headers
)
def _workbook(path: Path) -> None:
    path.write_bytes(
        workbook(
            {
                "enterprises": [ENT, _cells(ent(280)), _cells(ent(281, kind="limited"))],
                "Sheet3": [ROLES, _cells(role(282))],
                "records": [RECORDS, _cells(rec(283)), _cells(rec(284))],
                "空白": [],
            }
        )
    )


@case("enterprises_formulas.xlsx", Expect("ok", 2, r"formula without a cached value"))
def _formulas(path: Path) -> None:
    rows = [
        ENT,
        [*_cells(ent(285))[:6], "=10*10", "2020-01-05"],
        [*_cells(ent(286))[:6], "=10*3", "2020-01-05"],
        [*_cells(ent(287))[:6], "#DIV/0!", "2020-01-05"],  # openpyxl writes an error cell
        _cells(ent(288)),
    ]
    path.write_bytes(with_cached_value(workbook({"Sheet1": rows}), "G2", "100"))


@case(
    "enterprises_with_notes.xlsx",
    Expect("ok", 0, sheet="Sheet1"),
    Expect("refused", 0, r"cannot tell which table sheet '说明' holds", sheet="说明"),
)
def _notes(path: Path) -> None:
    path.write_bytes(workbook({"Sheet1": [ENT, _cells(ent(289))], "说明": [["备注"], ["见附件"]]}))


@case("enterprises_corrupt.xlsx", Expect("refused", 0, r"not a readable XLSX workbook"))
def _corrupt_xlsx(path: Path) -> None:
    path.write_bytes(workbook({"Sheet1": [ENT, _cells(ent(290))]})[:300])


@case("enterprises_typed.xlsx", OK)
def _typed_xlsx(path: Path) -> None:
    row = [code(291), "来安县甲公司", "company", "active", "C", 341122, 12.5, date(2020, 1, 5)]
    path.write_bytes(workbook({"Sheet1": [ENT[:8], row]}))


@case("enterprises_blank_rows.xlsx", Expect("ok", 1, r"kind must be one of"))
def _blank_rows_xlsx(path: Path) -> None:
    rows = [[], ENT, _cells(ent(292)), [], _cells(ent(293)), _cells(ent(294, kind="x"))]
    path.write_bytes(workbook({"Sheet1": rows}))


@case("enterprises_empty_sheet.xlsx", Expect("refused", 0, r"sheet 'Sheet1' is empty"))
def _empty_xlsx(path: Path) -> None:
    path.write_bytes(workbook({"Sheet1": []}))


@case("enterprises_id_numbers.xlsx", Expect("ok", 2, ID_REASON))
def _ids_xlsx(path: Path) -> None:
    rows = [ENT, _cells(ent(295, name=ID_C)), _cells(ent(296, uscc=ID_D)), _cells(ent(297))]
    path.write_bytes(workbook({"Sheet1": rows}))


# ----- legacy and misnamed files

_OLE = bytes.fromhex("d0cf11e0a1b11ae1") + bytes(504)
_XLSX = workbook({"Sheet1": [ENT, _cells(ent(300))]})
_PARQUET = parquet(pd.DataFrame([ent(301)], columns=ENT))
for _name, _data, _pattern in (
    ("enterprises_legacy.xls", _OLE, r"legacy Excel 97-2003 \.xls workbooks cannot be read"),
    ("enterprises_zip.xls", _XLSX, r"named \.xls but holds a ZIP archive"),
    ("enterprises_html.xls", b"<html><table><tr><td>1</td></tr></table></html>", r"holds text"),
    ("enterprises_zip.csv", _XLSX, r"named \.csv but holds a ZIP archive \(an XLSX workbook\?\)"),
    ("enterprises_csv.xlsx", csv_text([ENT, ent(302)]).encode(), r"named \.xlsx but holds text"),
    ("enterprises_parquet.csv", _PARQUET, r"named \.csv but holds a Parquet file"),
    ("enterprises_ole.xlsx", _OLE, r"named \.xlsx but holds a legacy Excel 97-2003"),
):
    CASES.append(
        Case(_name, lambda p, data=_data: p.write_bytes(data), (Expect("refused", 0, _pattern),))
    )

# ----- Parquet

_FRAME = pd.DataFrame(
    {
        "uscc": [code(310), code(311)],
        "name": ["来安县甲公司", "来安县乙公司"],
        "kind": ["company", "company"],
        "status": ["active", "active"],
        "industry": ["C", None],
        "region": [341122, 341122],
        "registered_capital": [100.0, None],
        "founded": pd.to_datetime(["2020-01-05", "2019-03-01"]),
    }
)
CASES.append(Case("enterprises_typed.parquet", lambda p: p.write_bytes(parquet(_FRAME)), (OK,)))
CASES.append(
    Case(
        "enterprises_wrong_types.parquet",
        lambda p: p.write_bytes(
            parquet(
                _FRAME.assign(
                    founded=[5, 20200105],  # an integer where a date belongs
                    registered_capital=["abc", "1"],
                )
            )
        ),
        (Expect("ok", 1, r"founded must be a date like|registered_capital must be a number"),),
    )
)
CASES.append(
    Case(
        "enterprises_nested.parquet",
        lambda p: p.write_bytes(
            parquet(_FRAME.assign(name=[["甲"], ["乙", "丙"]], extra=[{"a": 1}, {"a": 2}]))
        ),
        (Expect("ok", 2, r"name must be a single value; got a list"),),
    )
)
CASES.append(
    Case(
        "enterprises_corrupt.parquet",
        lambda p: p.write_bytes(b"PAR1" + bytes(100) + b"PAR1"),
        (Expect("refused", 0, r"not a readable Parquet file"),),
    )
)
CASES.append(
    Case(
        "persons_binary.parquet",
        lambda p: p.write_bytes(
            parquet(
                pa.table(
                    {
                        "person_id": ["P-320", "P-321"],
                        "name": pa.array(["张三".encode(), b"\xff\xfe"], type=pa.binary()),
                        "id_hash": [HASH, HASH],
                        "id_masked": ["110105********002X", "110105********002X"],
                    }
                )
            )
        ),
        (Expect("ok", 1, r"name must be text; got binary data"),),
    )
)
CASES.append(
    Case(
        "records_decided_as_integers.parquet",
        lambda p: p.write_bytes(
            parquet(
                pd.DataFrame([rec(322), rec(323)], columns=RECORDS).assign(
                    decided=[20240301, 5], amount=[2.0, 3.0]
                )
            )
        ),
        (Expect("ok", 1, r"decided must be a date like"),),
    )
)

# ----- file names a terminal or a database could trip on

csv_case(
    "enterprises_[red]markup.csv",  # rich markup in a name, and a closing tag in a value
    ENT,
    [ent(330), ent(332, kind="[/red]")],
    Expect("ok", 1, r"kind must be one of .*; got '\[/red\]'"),
)
CASES.append(
    Case(
        os.fsdecode(b"enterprises_\xff.csv"),  # not UTF-8: a lone surrogate in Python
        lambda p: write_csv(p, ENT, [ent(331)]),
        (OK,),
    )
)


def write_corpus(folder: Path) -> list[Case]:
    """Write every case into ``folder`` and return the cases."""
    folder.mkdir(parents=True, exist_ok=True)
    names = [c.name for c in CASES]
    assert len(names) == len(set(names)), "corpus file names must be unique"
    for item in CASES:
        item.write(folder / item.name)
    return list(CASES)
