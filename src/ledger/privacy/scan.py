"""Is any erased person's data still readable? The scan takes every byte the store keeps (raw
files with their leftovers, and the live rows), finds every wrapped key and sealed blob in
them, and tries to open each with every key the server holds: the keyring's KEKs of every
shard and epoch, the signing keys of the keystore, and every data key those unwrap.

Findings are erased volunteers' blobs that open, and live volunteers' field values found in
plain text outside their sealed blobs (in events, views, idempotency records or anywhere).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..canonical import parse_json
from ..personal_data import DATA, ERASED, KEYS, LEGACY_KEYS
from ..privacy.keyring import SHARDS
from .raw_files import raw_sources
from .sealed import Sealed, WrappedKey, find_blobs

if TYPE_CHECKING:
    from ..ledger import Ledger

MIN_PLAIN = 4  # bytes: shorter field values would match by chance


@dataclass(frozen=True)
class Finding:
    number: str
    what: str


@dataclass
class ScanReport:
    sources: dict[str, int] = field(default_factory=dict)  # name -> bytes read
    keys_held: int = 0
    wrapped_keys: int = 0
    sealed_blobs: int = 0
    erased: set[str] = field(default_factory=set)
    readable_live: set[str] = field(default_factory=set)
    unfinished_shards: list[int] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.findings and not self.unfinished_shards

    def lines(self) -> list[str]:
        out = [f"read {name}: {size} bytes" for name, size in sorted(self.sources.items())]
        out += [
            f"keys held: {self.keys_held}; distinct wrapped keys found: {self.wrapped_keys}; "
            f"distinct sealed blobs found: {self.sealed_blobs}",
            f"erased volunteers: {len(self.erased)}; volunteers whose personal data is held "
            f"(not erased): {len(self.readable_live)}",
        ]
        out += [f"UNFINISHED erasure in keyring shard {s}" for s in self.unfinished_shards]
        out += [f"READABLE {f.number}: {f.what}" for f in self.findings]
        out.append("clean: no erased personal data is readable" if self.clean else "NOT CLEAN")
        return out


def scan(ledger: Ledger, *, wal: bool = False) -> ScanReport:
    report = ScanReport()
    chunks = _chunks(ledger, report, wal=wal)
    report.erased = _erased_numbers(ledger)
    keyring = ledger.personal_data.keyring
    secrets = [*keyring.all_keys(), *_signing_secrets(ledger.keystore)]
    report.keys_held = len(secrets)
    report.findings += [
        Finding(
            number,
            "personal data in the format before the keyring (its data key stored "
            "unwrapped): run `ledger privacy migrate`",
        )
        for number, _ in ledger._recorder.side_items(LEGACY_KEYS)
    ]
    report.unfinished_shards = [s for s in range(SHARDS) if len(keyring.epochs(s)) > 1]
    wrapped, sealed = _blobs(chunks)
    report.wrapped_keys, report.sealed_blobs = len(wrapped), len(sealed)
    data_keys = _unwrap_all(wrapped, secrets, report)
    plain_values = _open_all(sealed, data_keys, secrets, report)
    _plain_text_copies(chunks, plain_values, report)
    return report


def _chunks(ledger: Ledger, report: ScanReport, *, wal: bool) -> list[bytes]:
    chunks: list[bytes] = []
    for name, raw in raw_sources(ledger.store, wal=wal):
        report.sources[name] = len(raw)
        chunks.append(raw)
    recorder = ledger._recorder
    namespaces = [DATA, "certificate", *(f"{KEYS}/{s:02x}" for s in range(SHARDS))]
    live = [value for ns in namespaces for _, value in recorder.side_items(ns)]
    report.sources["live side rows"] = sum(len(v) for v in live)
    chunks.extend(live)
    if ledger.store.kind == "memory":
        events = [bytes(n.state) for n in _all_notifications(ledger)]
        report.sources["live events"] = sum(len(e) for e in events)
        chunks.extend(events)
    return chunks


def _all_notifications(ledger: Ledger) -> Iterable[Any]:
    start = 1
    while True:
        batch = ledger._recorder.select_notifications(start, 1000)
        yield from batch
        if len(batch) < 1000:
            return
        start = batch[-1].id + 1


def _erased_numbers(ledger: Ledger) -> set[str]:
    erased = {number for number, _ in ledger._recorder.side_items(ERASED)}
    erased |= {e.data["number"] for e in ledger.events_of_types("PersonalDataErased")}
    return erased


def _signing_secrets(keystore: object) -> list[bytes]:
    """The private bytes of every signing key the keystore holds (tried as AES keys too)."""
    found: list[bytes] = []
    folder = getattr(keystore, "path", None)
    memory = getattr(keystore, "_keys", None)
    owners = sorted(memory) if isinstance(memory, dict) else []
    if isinstance(folder, Path) and folder.is_dir():
        owners = sorted(p.name for p in folder.iterdir() if p.is_dir())
    for owner in owners:
        for key_id in keystore.key_ids(owner):  # type: ignore[attr-defined]
            signer = keystore.get(owner, key_id)  # type: ignore[attr-defined]
            private = getattr(signer, "private_bytes", None)
            if callable(private):
                found.append(private())
    return found


def _blobs(chunks: list[bytes]) -> tuple[list[WrappedKey], list[Sealed]]:
    wrapped: dict[bytes, WrappedKey] = {}
    sealed: dict[bytes, Sealed] = {}
    for chunk in chunks:
        for blob in find_blobs(chunk):
            if isinstance(blob, WrappedKey):
                wrapped[blob.header + blob.nonce + blob.ciphertext] = blob
            else:
                sealed[blob.header + blob.nonce + blob.ciphertext] = blob
    return list(wrapped.values()), list(sealed.values())


def _unwrap_all(
    wrapped: list[WrappedKey], secrets: list[bytes], report: ScanReport
) -> dict[str, set[bytes]]:
    data_keys: dict[str, set[bytes]] = {}
    for blob in wrapped:
        for secret in secrets:
            data_key = blob.unwrap(secret)
            if data_key is not None:
                data_keys.setdefault(blob.number, set()).add(data_key)
                if blob.number in report.erased:
                    report.findings.append(
                        Finding(blob.number, f"a wrapped data key (epoch {blob.epoch}) opens")
                    )
                break
    return data_keys


def _open_all(
    sealed: list[Sealed],
    data_keys: dict[str, set[bytes]],
    secrets: list[bytes],
    report: ScanReport,
) -> dict[str, set[bytes]]:
    every_data_key = {k for keys in data_keys.values() for k in keys}
    plain_values: dict[str, set[bytes]] = {}
    for blob in sealed:
        candidates = [*data_keys.get(blob.number, ()), *secrets]
        if blob.number in report.erased:
            candidates += list(every_data_key)
        for key in candidates:
            plain = blob.open(key)
            if plain is None:
                continue
            if blob.number in report.erased:
                what = "personal data" if blob.kind == "D" else f"credential {blob.label}"
                report.findings.append(Finding(blob.number, f"sealed {what} opens"))
            else:
                report.readable_live.add(blob.number)
                if blob.kind == "D":
                    plain_values.setdefault(blob.number, set()).update(_values(plain))
            break
    return plain_values


def _values(plain: bytes) -> set[bytes]:
    fields: dict[str, Any] = parse_json(plain)
    return {
        v.encode("utf-8")
        for v in fields.values()
        if isinstance(v, str) and len(v.encode("utf-8")) >= MIN_PLAIN
    }


def _plain_text_copies(
    chunks: list[bytes],
    plain_values: dict[str, set[bytes]],
    report: ScanReport,
) -> None:
    for number, values in sorted(plain_values.items()):
        for value in sorted(values):
            if any(value in chunk for chunk in chunks):
                report.findings.append(
                    Finding(number, "a personal data value is stored in plain text")
                )
                break
