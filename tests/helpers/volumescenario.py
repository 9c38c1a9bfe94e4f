"""A five-week warehouse with a weekday pattern for the expected-input tests (contract §14),
the same rows on DuckDB and on HiveServer2. Every expected value is worked out by hand below.

D is Monday 2026-11-23; its baseline days are the Mondays W1..W4 (11-16, 11-09, 11-02,
10-26). W2 is a public holiday (MNAAS_QUIET_DAYS): every process's W2 rows are left out.
Configured: processes sms mms voice idle fax late; customers eLUX JLR Weekend Ign, InfONova INF.

- sms/eLUX: 44, (W2 0), 50, 46 -> counted W1 W3 W4 -> median of 44 46 50 = 46; D 0 -> SILENT
  ("0 received, usually 46: median of 3 Mondays"; with W2 counted it would be 45 of 4).
- sms/JLR: 23, (W2 3), 18, 30 -> median of 18 23 30 = 23; D 11 < 11.5 -> LOW INPUT
  (with W2 counted: median 20.5, and 11 is not below 10.25).
- sms/Weekend sends on Saturdays only: 0 on every counted Monday, 0 on D -> ok.
- sms/Ign would be silent (30 30 30, D 0) but is in MNAAS_VOLUME_IGNORE -> ok.
- sms/INF: 10 each Monday, 10 on D -> ok.
- mms: on W1 only INF (another group: MNAAS_GROUP_SIZE=1) has a row; the day still counts for
  every mms pair. mms/eLUX: W1 none (0), W3 30, W4 40 -> median 30 of 3 Mondays, files on two
  of them; D 14 < 15 -> LOW INPUT (were W1 not counted: 2 days, too short, not judged).
- voice's history starts at W1 (one counted day < MNAAS_SILENT_MIN_DAYS 3): its 5 pairs have a
  history too short, and voice/eLUX (40 on W1, 0 on D) is not silent.
- idle (MNAAS_EMPTY_INPUT_ALLOWED) and fax receive nothing on D: idle's pairs ok, fax's no_input
  (MNAAS_EMPTY_INPUT=warn), neither silent though both sent 20 every Monday.
- late: 20 every Monday, but no KPI row of D; eLUX received 3 files on D, all generated -> ok,
  and the email says KPI NOT LOADED: late.
- Not monitored on D: cdr/eLUX (KPI 7), sms/Stranger (2 distinct received files, one row
  repeated, no KPI), and sms/Skipme (KPI 5) left out by MNAAS_UNMONITORED_IGNORE=Skipme.
"""

from __future__ import annotations

import datetime as dt

from mnaas_missing_files.cli.demo_data import Rows

D = dt.date(2026, 11, 23)
W1, W2, W3, W4 = (D - dt.timedelta(days=7 * k) for k in (1, 2, 3, 4))
SATURDAYS = [D - dt.timedelta(days=2 + 7 * k) for k in range(5)]
PROCESSES = ["sms", "mms", "voice", "idle", "fax", "late"]
CUSTOMERS = ["eLUX", "JLR", "Weekend", "Ign"]
INFONOVA = ["INF"]

# process -> customer -> {day: File Received}; File Generated is the same (nothing missing).
RECEIVED: dict[str, dict[str, dict[dt.date, int]]] = {
    "sms": {
        "eLUX": {W1: 44, W2: 0, W3: 50, W4: 46},
        "JLR": {W1: 23, W2: 3, W3: 18, W4: 30, D: 11},
        "Weekend": dict.fromkeys(SATURDAYS, 30),
        "Ign": {W1: 30, W3: 30, W4: 30},
        "INF": {W1: 10, W2: 10, W3: 10, W4: 10, D: 10},
    },
    "mms": {"eLUX": {W3: 30, W4: 40, D: 14}, "INF": {W1: 10, W3: 10, W4: 10, D: 10}},
    "voice": {"eLUX": {W1: 40}, "JLR": {W1: 5, D: 5}},
    "idle": {"eLUX": {W1: 20, W2: 20, W3: 20, W4: 20}},
    "fax": {"eLUX": {W1: 20, W2: 20, W3: 20, W4: 20}},
    "late": {"eLUX": {W1: 20, W2: 20, W3: 20, W4: 20}},
}

SETTINGS = {
    "process_list": f"({' '.join(PROCESSES)})",
    "customer_names": f"({' '.join(CUSTOMERS)})",
    "infonova_customer_names": f"({' '.join(INFONOVA)})",
    "MNAAS_GROUP_SIZE": "1",
    "MNAAS_QUIET_DAYS": W2.isoformat(),
    "MNAAS_VOLUME_IGNORE": '"sms/Ign, nosuch"',
    "MNAAS_UNMONITORED_IGNORE": "Skipme",
    "MNAAS_EMPTY_INPUT": "warn",
    "MNAAS_EMPTY_INPUT_ALLOWED": "idle",
    "MNAAS_LOOKBACK_DAYS": "0",
}

VERDICTS = {
    "unknown": 0,
    "no_input": 5,  # fax
    "silent": 1,  # sms/eLUX
    "low_input": 2,  # sms/JLR, mms/eLUX
    "mismatch": 0,
    "missing": 0,
    "ok": 22,  # 30 pairs in all
}
FINDINGS = [
    ["sms", "eLUX", "silent", 0, 46, 3],
    ["sms", "JLR", "low_input", 11, 23, 3],
    ["mms", "eLUX", "low_input", 14, 30, 3],
]
EMAIL_LINES = [
    "0 received, usually 46: median of 3 Mondays",
    "11 received, usually 23: median of 3 Mondays",
    "14 received, usually 30: median of 3 Mondays",
]
UNMONITORED = [["cdr", "eLUX", 7], ["sms", "Stranger", 2]]
TOO_SHORT = 5  # voice's five pairs


def rows() -> Rows:
    data = Rows()
    for process, customers in RECEIVED.items():
        for customer, days in customers.items():
            for day, count in days.items():
                data.kpi.append((day.isoformat(), process, customer, "File Received", count))
                data.kpi.append((day.isoformat(), process, customer, "File Generated", count))
    d = D.isoformat()
    data.kpi += [(d, "cdr", "eLUX", "File Received", 7), (d, "sms", "Skipme", "File Received", 5)]
    for n in range(3):  # late's files of D, all generated, but its KPI load has not run
        data.received.append((d, "late", "eLUX", f"L{n}.dat", 1))
        data.generated.append((d, "late", "eLUX", f"L{n}.dat", f"eLUX_L{n}.dat", 1))
    data.received += [(d, "sms", "Stranger", "S1.dat", 1), (d, "sms", "Stranger", "S1.dat", 1)]
    data.received.append((d, "sms", "Stranger", "S2.dat", 1))
    return data
