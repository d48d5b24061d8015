"""Queries over the views, with keyset (cursor) pagination: stable under concurrent writes,
and as fast on the millionth page as on the first."""

from __future__ import annotations

import base64
import binascii
import json
from collections import defaultdict
from typing import Any

from ..balances import VolunteerBalance, star_standing, volunteer_balance_of
from ..errors import InvalidInputError, NotFoundError
from .database import ViewDatabase
from .leaderboards import ALL

MAX_PAGE = 500


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, shape: tuple[type, ...]) -> list[Any] | None:
    if not cursor:
        return None
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidInputError("the cursor is not one this API returned") from None
    if (
        not isinstance(values, list)
        or len(values) != len(shape)
        or not all(
            isinstance(v, t)
            and not isinstance(v, bool)
            and (not isinstance(v, int) or abs(v) < 2**62)
            for v, t in zip(values, shape, strict=True)
        )
    ):
        raise InvalidInputError("the cursor is not one this API returned")
    return values


def _fits(value: object, kind: type) -> bool:
    if not isinstance(value, kind) or isinstance(value, bool):
        return False
    return not isinstance(value, int) or abs(value) < 2**62


def _limit(limit: int) -> int:
    if not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise InvalidInputError(f"limit is 1 to {MAX_PAGE}")
    return limit


class ViewQueries:
    def __init__(self, database: ViewDatabase) -> None:
        self.db = database

    def volunteer(self, number: str) -> VolunteerBalance:
        """The volunteer's balance, in the shape of ``Ledger.volunteer_balance`` (see
        :class:`ledger.balances.VolunteerBalance`). The level due under each scheme counts the
        volunteer's minutes recorded by the scheme's owner or below it (``view_org_tree``)."""
        rows = self.db.query(
            "SELECT approved_minutes, records, approved_records, late_records "
            "FROM view_volunteers WHERE number = ?",
            [number],
        )
        if not rows:
            raise NotFoundError(f"volunteer {number} is not in the views")
        approved_minutes, records, approved_records, late_records = rows[0]
        by_org_year = self.db.query(
            "SELECT org_id, year, minutes FROM view_volunteer_org_years WHERE number = ?",
            [number],
        )
        by_year: dict[str, int] = defaultdict(int)
        by_org: dict[str, int] = defaultdict(int)
        for org_id, year, minutes in by_org_year:
            by_year[year] += minutes
            by_org[org_id] += minutes
        schemes = self.db.query(
            "SELECT s.scheme_id, s.version, s.thresholds, COALESCE(v.level, 0), "
            "(SELECT COALESCE(SUM(y.minutes), 0) FROM view_volunteer_org_years y "
            "JOIN view_org_tree t ON t.org_id = y.org_id "
            "WHERE y.number = ? AND t.ancestor_id = s.owner) "
            "FROM view_star_schemes s LEFT JOIN view_volunteer_stars v "
            "ON v.scheme_id = s.scheme_id AND v.number = ?",
            [number, number],
        )
        return volunteer_balance_of(
            number,
            approved_minutes=int(approved_minutes),
            approved_records=int(approved_records),
            records=int(records),
            late_records=int(late_records),
            by_field=dict(
                self.db.query(
                    "SELECT field, minutes FROM view_volunteer_fields WHERE number = ?", [number]
                )
            ),
            by_year=by_year,
            by_recording_org=by_org,
            stars={
                scheme_id: star_standing(int(level), int(minutes), json.loads(text), version)
                for scheme_id, version, text, level, minutes in schemes
            },
            honours=[
                {"honour_id": h, "honour": n, "granted_by": g, "granted_on": d, "revoked": bool(r)}
                for h, n, g, d, r in self.db.query(
                    "SELECT honour_id, honour, granted_by, granted_on, revoked "
                    "FROM view_volunteer_honours WHERE recipient = ?",
                    [number],
                )
            ],
        )

    def top_volunteers(
        self,
        *,
        limit: int = 20,
        cursor: str | None = None,
        year: str | None = None,
        under_org: str | None = None,
    ) -> dict[str, Any]:
        """Volunteers by approved minutes (most first), optionally in one year and one part of
        the organisation tree (records made by that organisation or any below it).

        Read from the maintained ``view_rank_volunteers`` rows: an index range scan, as fast at
        half a million volunteers as at a thousand."""
        after = decode_cursor(cursor, (int, str))
        if year == ALL or under_org == ALL:  # no year, and no organisation, is empty
            return {"items": [], "next_cursor": None}
        params: list[Any] = [ALL if year is None else year, ALL if under_org is None else under_org]
        keyset = ""
        if after is not None:
            keyset = " AND minutes <= ? AND (minutes < ? OR number > ?)"
            params += [after[0], after[0], after[1]]
        rows = self.db.query(
            "SELECT number, minutes FROM view_rank_volunteers "
            f"WHERE year = ? AND scope = ? AND minutes > 0{keyset} "
            "ORDER BY minutes DESC, number ASC LIMIT ?",
            [*params, _limit(limit)],
        )
        items = [{"number": n, "approved_minutes": int(m)} for n, m in rows]
        return _page(items, rows, limit, lambda r: [int(r[1]), r[0]])

    def organisation(self, org_id: str) -> dict[str, Any]:
        rows = self.db.query(
            "SELECT org_id, name, kind, region, parent, registered_volunteers, activities, "
            "people_served, records, approved_minutes, transfers_in, transfers_out "
            "FROM view_organisations WHERE org_id = ?",
            [org_id],
        )
        if not rows:
            raise NotFoundError(f"organisation {org_id!r} is not in the views")
        keys = (
            "org_id",
            "name",
            "kind",
            "region",
            "parent",
            "registered_volunteers",
            "activities",
            "people_served",
            "records",
            "approved_minutes",
            "transfers_in",
            "transfers_out",
        )
        own = dict(zip(keys, rows[0], strict=True))
        own["members_now"] = self._count_people("view_memberships", org_id, subtree=False)
        own["active_volunteers"] = self._count_people("view_org_active", org_id, subtree=False)
        return {"organisation": own, "rolled_up": self._rolled_up(org_id)}

    def _count_people(self, table: str, org_id: str, *, subtree: bool) -> int:
        active = " AND p.approved_records > 0" if table == "view_org_active" else ""
        if subtree:
            sql = (
                f"SELECT COUNT(DISTINCT p.number) FROM view_org_tree t JOIN {table} p "
                f"ON p.org_id = t.org_id WHERE t.ancestor_id = ?{active}"
            )
        else:
            sql = f"SELECT COUNT(DISTINCT p.number) FROM {table} p WHERE p.org_id = ?{active}"
        return int(self.db.query(sql, [org_id])[0][0])

    def _rolled_up(self, org_id: str) -> dict[str, Any]:
        row = self.db.query(
            "SELECT COUNT(*), SUM(o.registered_volunteers), SUM(o.activities), "
            "SUM(o.people_served), SUM(o.records), SUM(o.approved_minutes) "
            "FROM view_org_tree t JOIN view_organisations o ON o.org_id = t.org_id "
            "WHERE t.ancestor_id = ?",
            [org_id],
        )[0]
        keys = (
            "organisations",
            "registered_volunteers",
            "activities",
            "people_served",
            "records",
            "approved_minutes",
        )
        result = {k: int(v or 0) for k, v in zip(keys, row, strict=True)}
        result["members_now"] = self._count_people("view_memberships", org_id, subtree=True)
        result["active_volunteers"] = self._count_people("view_org_active", org_id, subtree=True)
        return result

    def organisations_by_minutes(
        self, *, limit: int = 20, cursor: str | None = None, kind: str | None = None
    ) -> dict[str, Any]:
        """Organisations by approved minutes rolled up their subtree (most first), read from
        the maintained ``view_rank_organisations`` rows (an index range scan)."""
        where, params = ["1 = 1"], []
        if kind is not None:
            where.append("kind = ?")
            params.append(kind)
        after = decode_cursor(cursor, (int, str))
        if after is not None:
            where.append("minutes <= ? AND (minutes < ? OR org_id > ?)")
            params += [after[0], after[0], after[1]]
        rows = self.db.query(
            f"SELECT org_id, minutes FROM view_rank_organisations WHERE {' AND '.join(where)} "
            "ORDER BY minutes DESC, org_id ASC LIMIT ?",
            [*params, _limit(limit)],
        )
        items = [{"org_id": o, "approved_minutes": int(m)} for o, m in rows]
        return _page(items, rows, limit, lambda r: [int(r[1]), r[0]])

    def account(
        self, account_id: str, *, limit: int = 50, cursor: str | None = None
    ) -> dict[str, Any]:
        rows = self.db.query(
            "SELECT bank_id, balance FROM view_accounts WHERE account_id = ?", [account_id]
        )
        if not rows:
            raise NotFoundError(f"account {account_id} has no movements")
        after = decode_cursor(cursor, (int, str))
        extra, params = "", [account_id]
        if after is not None:
            extra = " AND (position > ? OR (position = ? AND transfer_id > ?))"
            params += [after[0], after[0], after[1]]
        moves = self.db.query(
            "SELECT transfer_id, counterparty, amount, kind, position FROM view_account_movements "
            f"WHERE account_id = ?{extra} ORDER BY position, transfer_id LIMIT ?",
            [*params, _limit(limit)],
        )
        items = [
            {"transfer_id": t, "counterparty": c, "amount": a, "kind": k, "position": p}
            for t, c, a, k, p in moves
        ]
        page = _page(items, moves, limit, lambda r: [int(r[4]), r[0]])
        return {"account": account_id, "bank_id": rows[0][0], "balance": rows[0][1], **page}

    def accounts_of_transfer(self, bank_id: str, transfer_id: str) -> list[str]:
        """The accounts of ``bank_id`` whose movements hold ``transfer_id``, as the views have
        them (behind the log, and no more trustworthy than their database: a hint to check)."""
        rows = self.db.query(
            "SELECT m.account_id FROM view_account_movements m JOIN view_accounts a "
            "ON a.account_id = m.account_id WHERE m.transfer_id = ? AND a.bank_id = ? "
            "ORDER BY m.account_id",
            [transfer_id, bank_id],
        )
        return [row[0] for row in rows]

    def city_statistics(
        self, start_month: str = "0000-00", end_month: str = "9999-99"
    ) -> dict[str, Any]:
        """The figures a city reports, for months start..end inclusive (YYYY-MM)."""
        span = [start_month, end_month]
        by_field = self.db.query(
            "SELECT field, SUM(minutes), SUM(records) FROM view_minutes_by_field_month "
            "WHERE month >= ? AND month <= ? GROUP BY field ORDER BY field",
            span,
        )
        by_month = self.db.query(
            "SELECT month, SUM(minutes) FROM view_minutes_by_field_month "
            "WHERE month >= ? AND month <= ? GROUP BY month ORDER BY month",
            span,
        )
        activities = self.db.query(
            "SELECT COALESCE(SUM(activities), 0), COALESCE(SUM(people_served), 0) "
            "FROM view_activities_by_month WHERE month >= ? AND month <= ?",
            span,
        )[0]
        registered = self.db.query(
            "SELECT COALESCE(SUM(volunteers), 0) FROM view_registrations_by_month "
            "WHERE month >= ? AND month <= ?",
            span,
        )[0][0]
        kinds = dict(
            self.db.query(
                "SELECT kind, organisations FROM view_organisations_by_kind ORDER BY kind"
            )
        )
        return {
            "period": {"from": start_month, "to": end_month},
            "registered_volunteers": int(registered),
            "organisations_by_kind": {k: int(v) for k, v in kinds.items()},
            "activities": int(activities[0]),
            "people_served": int(activities[1]),
            "approved_minutes": sum(int(m) for _, m in by_month),
            "minutes_by_field": {f: int(m) for f, m, _ in by_field},
            "approved_records_by_field": {f: int(r) for f, _, r in by_field},
            "minutes_by_month": {m: int(v) for m, v in by_month},
        }


def _page(items: list[dict[str, Any]], rows: list[Any], limit: int, key: Any) -> dict[str, Any]:
    next_cursor = encode_cursor(key(rows[-1])) if len(rows) == limit else None
    return {"items": items, "next_cursor": next_cursor}
