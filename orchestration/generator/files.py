"""The files a generation writes: landing and truth files chunk by chunk, and the workbook."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import xlsxwriter

from orchestration.generator.formatting import dmy_dates

SCHEMAS = {
    "gp_registrations": pa.schema(
        [
            ("registration_id", pa.string()),
            ("nhs_number", pa.string()),
            ("given_name", pa.string()),
            ("family_name", pa.string()),
            ("date_of_birth", pa.date32()),
            ("sex_code", pa.int64()),
            ("postcode", pa.string()),
            ("practice_code", pa.string()),
            ("registered_on", pa.date32()),
        ]
    ),
    "data_opt_outs": pa.schema([("nhs_number", pa.string()), ("opted_out_on", pa.date32())]),
    "person_records": pa.schema(
        [
            ("department", pa.string()),
            ("dataset", pa.string()),
            ("record_id", pa.string()),
            ("role", pa.string()),
            ("citizen_id", pa.int64()),
        ]
    ),
    "property_records": pa.schema(
        [
            ("department", pa.string()),
            ("dataset", pa.string()),
            ("record_id", pa.string()),
            ("property_id", pa.int64()),
        ]
    ),
}


class Sink:
    """An append-only landing or truth file written chunk by chunk."""

    def __init__(self, path: Path, kind: str, schema: pa.Schema | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.kind = kind
        self.rows = 0
        self._schema = schema
        self._parquet: pq.ParquetWriter | None = None
        self._text = (
            path.open("w", encoding="utf-8", newline="") if kind in ("csv", "json") else None
        )

    def write(self, frame: pd.DataFrame) -> None:
        """Appends the rows of ``frame``."""
        if self.kind == "csv":
            frame.to_csv(self._text, index=False, header=self.rows == 0, lineterminator="\n")
        elif self.kind == "json":
            if len(frame):
                text = frame.to_json(orient="records", lines=True, force_ascii=False)
                self._text.write(text if text.endswith("\n") else text + "\n")
        else:
            table = pa.Table.from_pandas(frame, schema=self._schema, preserve_index=False)
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self.path, self._schema, compression="zstd")
            self._parquet.write_table(table)
        self.rows += len(frame)

    def close(self) -> None:
        """Finishes the file (an empty Parquet file still gets its schema)."""
        if self._text is not None:
            self._text.close()
        if self.kind == "parquet":
            if self._parquet is None:
                pq.write_table(self._schema.empty_table(), self.path, compression="zstd")
            else:
                self._parquet.close()


def write_council_xlsx(path: Path, frame: pd.DataFrame) -> None:
    """Writes the council-tax extract as an Excel workbook with real date cells.

    A few dates (flagged in ``_text_date``) are typed as ``dd/mm/yyyy`` text, as happens
    when someone keys them into the spreadsheet by hand.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = [c for c in frame.columns if not c.startswith("_")]
    date_columns = {"Liability Start", "Liability End"}
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    workbook.set_properties({"created": pd.Timestamp("2026-04-05").to_pydatetime()})
    date_format = workbook.add_format({"num_format": "dd/mm/yyyy"})
    sheet = workbook.add_worksheet("Accounts")
    sheet.write_row(0, 0, columns)
    excel_epoch = np.datetime64("1899-12-30")
    cells = {}
    for name in columns:
        values = frame[name]
        if name in date_columns:
            days = values.to_numpy(dtype="datetime64[D]")
            serial = (days - excel_epoch).astype(np.int64).astype(object)
            serial[np.isnat(days)] = None
            text = dmy_dates(days).to_numpy(dtype=object)
            cells[name] = (serial, text)
        else:
            cells[name] = values.astype(object).where(values.notna(), None).to_numpy()
    text_date = frame["_text_date"].to_numpy()
    for row in range(len(frame)):
        for col, name in enumerate(columns):
            if name in date_columns:
                serial, text = cells[name]
                if serial[row] is None:
                    continue
                if text_date[row]:
                    sheet.write_string(row + 1, col, text[row])
                else:
                    sheet.write_number(row + 1, col, serial[row], date_format)
            else:
                value = cells[name][row]
                if value is not None:
                    sheet.write_string(row + 1, col, str(value))
    workbook.close()
