"""`socialgraph seed ldbc DIR`: the LDBC SNB Interactive (v1) data set, mapped onto our model.

Reads the CsvComposite files of `vanilla/dynamic/` (pipe-separated, header row, dates in
epoch milliseconds). `DIR` may be the data set folder, its `vanilla/` or its `dynamic/`.

* Person -> `:User` id `ldbc-<id>`, source `ldbc`, source_id `<id>`, handle
  `<first>_<last>_<id>` (ASCII, at most 30 characters), display name `First Last`,
  created_at = creationDate; no password, so LDBC users cannot log in.
* person_knows_person -> `:FRIENDS`, since = the KNOWS creationDate (stored once per pair).
* Post + post_hasCreator_person -> `:Post` id `ldbc-post-<id>`, source_id `<id>`, text =
  content, or imageFile when content is empty; created_at = creationDate.
* Comment + comment_hasCreator_person + comment_replyOf_post/_comment -> `:Comment` id
  `ldbc-comment-<id>`, source_id `<id>`, ON the post it replies to. Replies to comments:
  `replies="root"` (default) follows replyOf up to the thread's post and attaches the
  reply there; `replies="skip"` leaves them out.
* person_likes_post -> `:LIKED {at: creationDate}`.

Not loaded: likes of comments (our model likes posts only), forums, tags, places,
organisations. Likes and comments go through `seeds.bulk`, so like_count,
comment_count and INTERACTS come out as if the users had acted through the API.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from neo4j import Driver

from seeds import bulk
from seeds.common import (
    SeedReport,
    begin_seed,
    counts_retries,
    end_seed,
    from_epoch_ms,
    handle_with_suffix,
    refresh_plans,
    undecodable,
    write_content,
)
from seeds.edgelist import DATA_DIR

SOURCE = "ldbc"
DEFAULT_DIR = DATA_DIR / "ldbc-snb-interactive-tiny"
Replies = Literal["root", "skip"]


class LdbcError(ValueError):
    """The directory does not hold the LDBC files, or they are inconsistent."""


def person_id(ldbc_id: str | int) -> str:
    return f"{SOURCE}-{ldbc_id}"


def post_id(ldbc_id: str | int) -> str:
    return f"{SOURCE}-post-{ldbc_id}"


def comment_id(ldbc_id: str | int) -> str:
    return f"{SOURCE}-comment-{ldbc_id}"


def find_dynamic_dir(path: Path | str) -> Path:
    path = Path(path)
    for candidate in (path, path / "dynamic", path / "vanilla" / "dynamic"):
        if (candidate / "person_0_0.csv").is_file():
            return candidate
    raise LdbcError(f"{path}: no LDBC person_0_0.csv here, in dynamic/ or in vanilla/dynamic/")


def read_table(directory: Path, name: str) -> Iterator[list[str]]:
    """Rows of `<name>_0_0.csv` without the header (pipe-separated, no quoting)."""
    path = directory / f"{name}_0_0.csv"
    if not path.is_file():
        raise LdbcError(f"{path}: missing")
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh, delimiter="|", quoting=csv.QUOTE_NONE)
            next(reader, None)
            for row in reader:
                if row:
                    yield row
    except UnicodeDecodeError:
        hint = "LDBC files are UTF-8: regenerate or convert the file"
        raise LdbcError(undecodable(path, "utf-8", hint)) from None


@dataclass
class LdbcRows:
    users: list[dict[str, Any]] = field(default_factory=list)
    friendships: list[dict[str, Any]] = field(default_factory=list)
    posts: list[dict[str, Any]] = field(default_factory=list)
    comments: list[dict[str, Any]] = field(default_factory=list)
    likes: list[dict[str, Any]] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)


def read_ldbc(path: Path | str, replies: Replies = "root") -> LdbcRows:
    """Every row the loader writes, from the CSV files alone (no database needed)."""
    d = find_dynamic_dir(path)
    out = LdbcRows()
    persons: set[str] = set()
    for pid, first, last, _gender, _birthday, created, *_ in read_table(d, "person"):
        persons.add(pid)
        out.users.append(
            {
                "id": person_id(pid),
                "handle": handle_with_suffix([first, last], pid),
                "display_name": f"{first} {last}".strip(),
                "bio": "",
                "created_at": from_epoch_ms(int(created)),
                "source": SOURCE,
                "source_id": pid,
            }
        )
    seen_pairs: set[tuple[str, str]] = set()
    for a, b, created in read_table(d, "person_knows_person"):
        key = (a, b) if a < b else (b, a)
        if a == b or key in seen_pairs:
            continue
        seen_pairs.add(key)
        out.friendships.append(
            {"a": person_id(a), "b": person_id(b), "since": from_epoch_ms(int(created))}
        )

    creator = dict((m, p) for m, p in read_table(d, "post_hasCreator_person"))
    posts: set[str] = set()
    skipped_posts = 0
    for pid, image, created, _ip, _browser, _lang, content, *_ in read_table(d, "post"):
        author = creator.get(pid)
        if author is None or author not in persons:
            skipped_posts += 1
            continue
        posts.add(pid)
        out.posts.append(
            {
                "id": post_id(pid),
                "author_id": person_id(author),
                "text": content or image,
                "created_at": from_epoch_ms(int(created)),
                "source": SOURCE,
                "source_id": pid,
            }
        )

    comment_creator = dict((c, p) for c, p in read_table(d, "comment_hasCreator_person"))
    parent_post = dict((c, p) for c, p in read_table(d, "comment_replyOf_post"))
    parent_comment = dict((c, p) for c, p in read_table(d, "comment_replyOf_comment"))

    def root_post(cid: str) -> str | None:
        hops = 0
        while cid not in parent_post:
            if replies == "skip" or cid not in parent_comment or hops > 10_000:
                return None
            cid = parent_comment[cid]
            hops += 1
        return parent_post[cid]

    skipped_comments = 0
    for cid, created, _ip, _browser, content, *_ in read_table(d, "comment"):
        target, author = root_post(cid), comment_creator.get(cid)
        if target is None or target not in posts or author not in persons:
            skipped_comments += 1
            continue
        out.comments.append(
            {
                "id": comment_id(cid),
                "user_id": person_id(author),
                "post_id": post_id(target),
                "text": content,
                "created_at": from_epoch_ms(int(created)),
                "source": SOURCE,
                "source_id": cid,
            }
        )

    seen_likes: set[tuple[str, str]] = set()
    skipped_likes = 0
    for who, pid, created in read_table(d, "person_likes_post"):
        if (who, pid) in seen_likes or who not in persons or pid not in posts:
            skipped_likes += 1
            continue
        seen_likes.add((who, pid))
        out.likes.append(
            {"user_id": person_id(who), "post_id": post_id(pid), "at": from_epoch_ms(int(created))}
        )
    out.skipped = {"posts": skipped_posts, "comments": skipped_comments, "likes": skipped_likes}
    return out


@counts_retries
def load_ldbc(
    driver: Driver,
    path: Path | str = DEFAULT_DIR,
    *,
    database: str = "neo4j",
    batch_size: int = bulk.DEFAULT_BATCH,
    replies: Replies = "root",
    reset: bool = False,
    show_progress: bool = False,
) -> SeedReport:
    """Load the LDBC SNB data set at `path` (idempotent: MERGE on ids). The report's
    `written` counts rows the queries wrote; `extra["skipped"]` counts rows left out."""
    report = SeedReport(f"socialgraph seed ldbc: {path}")
    with report.step("read files"):
        rows = read_ldbc(path, replies)
    begin_seed(report, driver, database, reset)
    report.sent = {
        "users": len(rows.users),
        "friendships": len(rows.friendships),
        "posts": len(rows.posts),
        "likes": len(rows.likes),
        "comments": len(rows.comments),
    }
    kw: dict[str, Any] = {"database": database, "batch_size": batch_size}
    with bulk.progress(disable=not show_progress) as bar:
        kw["bar"] = bar
        with report.step("users"):
            report.written["users"] = bulk.users(driver, rows.users, **kw)
        with report.step("replan"):
            refresh_plans(driver, database)
        with report.step("friendships"):
            report.written["friendships"] = bulk.friendships(driver, rows.friendships, **kw)
        content = {"posts": rows.posts, "likes": rows.likes, "comments": rows.comments}
        write_content(report, driver, content, **kw)
    end_seed(report, driver, database)
    report.extra["skipped"] = rows.skipped
    report.notes.append(
        "Left out: "
        + ", ".join(f"{v:,} {k}" for k, v in rows.skipped.items())
        + f" (replies to comments: {replies}); likes of comments, forums, tags, places."
    )
    return report
