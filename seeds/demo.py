"""`socialgraph seed demo`: a small graph people can remember and log in to.

30 named users in four communities (climbers, jazz, coders, book club) joined by a few
bridge friendships, plus a newcomer (eve) and an analyst (oscar); some pending friend
requests; posts over the past week with likes and comments written through `seeds.bulk`,
so like/comment counts and INTERACTS affinity are maintained exactly as the API does.

Every demo user logs in with DEMO_PASSWORD (peppered Argon2id, `core/passwords.py`, with
the pepper keys of the environment, as the API uses them; hashed once per run and shared
by all demo users, which keeps the seed fast). Re-running the seed writes
the same users, edges, posts, likes and comments (ids are fixed), so counts do not change.
Inbox messages live in Redis and are not seeded.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from neo4j import Driver

from core import passwords
from core.config import get_settings
from seeds import bulk
from seeds.common import (
    SeedReport,
    begin_seed,
    counts_retries,
    end_seed,
    refresh_plans,
)

DEMO_PASSWORD = "demo-password-1"  # noqa: S105 - documented demo credential (docs/seeds.md)
SOURCE = "demo"
ANALYST = "oscar"

# handle -> (display name, bio)
PEOPLE: dict[str, tuple[str, str]] = {
    # climbers
    "alice": ("Alice Moreau", "Bouldering on weekends, backend engineer on weekdays."),
    "bob": ("Bob Okafor", "Trad climber, bad cook, good belayer."),
    "carol": ("Carol Lindqvist", "Mountain guide. Ask me about the Alps."),
    "dave": ("Dave Kowalski", "Indoor walls, outdoor coffee."),
    "erin": ("Erin Nakamura", "Photographer. Mostly rocks, sometimes people."),
    "frank": ("Frank Duarte", "Trail runner who climbs. Or the other way round."),
    "grace": ("Grace Achebe", "Route setter at the city gym."),
    # jazz
    "heidi": ("Heidi Brandt", "Double bass, late nights, early coffee."),
    "ivan": ("Ivan Petrov", "Pianist. Thelonious Monk apologist."),
    "judy": ("Judy Alvarez", "Runs the Thursday jam session."),
    "mallory": ("Mallory Chen", "Saxophone. Keeps her profile private."),
    "niaj": ("Niaj Haddad", "Drums and vinyl collecting."),
    "olivia": ("Olivia Rossi", "Vocalist, teaches music theory."),
    "peggy": ("Peggy Walker", "Sound engineer at the Blue Room."),
    # coders
    "quentin": ("Quentin Dubois", "Graph databases and bad puns."),
    "rupert": ("Rupert Singh", "SRE. Has opinions about timeouts."),
    "sybil": ("Sybil Novak", "Compilers, type systems, tea."),
    "trent": ("Trent Moyo", "Frontend by day, jazz guitar by night."),
    "uma": ("Uma Iyer", "Data engineer who climbs on Sundays."),
    "victor": ("Victor Lima", "Rust evangelist in recovery."),
    "walter": ("Walter Kim", "Security engineer. Do not message me."),
    # book club
    "xena": ("Xena Papadopoulos", "Reads three books at once, finishes two."),
    "yusuf": ("Yusuf Demir", "Translator, poetry, long walks."),
    "zoe": ("Zoë O'Brien", "Librarian. Also climbs, badly."),
    "amir": ("Amir Rahimi", "History nerd and book club host."),
    "beatriz": ("Beatriz Souza", "Sci-fi and the occasional thriller."),
    "chen": ("Chen Wei", "Writes short stories, reads long ones."),
    "dmitri": ("Dmitri Volkov", "Chess, Russian novels, more chess."),
    # the rest
    "eve": ("Eve Newman", "Just moved to town, looking for friends."),
    "oscar": ("Oscar Lund", "Data scientist: I look at the graph so you don't have to."),
}

COMMUNITIES: list[list[str]] = [
    ["alice", "bob", "carol", "dave", "erin", "frank", "grace"],
    ["heidi", "ivan", "judy", "mallory", "niaj", "olivia", "peggy"],
    ["quentin", "rupert", "sybil", "trent", "uma", "victor", "walter"],
    ["xena", "yusuf", "zoe", "amir", "beatriz", "chen", "dmitri"],
]

# Across communities (and the two loners): who connects the clusters.
BRIDGES: list[tuple[str, str]] = [
    ("alice", "quentin"),
    ("alice", "uma"),
    ("uma", "carol"),  # climbing coders
    ("trent", "ivan"),
    ("trent", "judy"),  # the jazz guitarist
    ("heidi", "xena"),
    ("olivia", "yusuf"),  # music meets books
    ("zoe", "bob"),
    ("grace", "dmitri"),  # the climbing librarian, chess at the gym
    ("oscar", "alice"),
    ("oscar", "walter"),
    ("oscar", "judy"),  # the analyst
    ("eve", "bob"),  # the newcomer's only friend
]

PENDING_REQUESTS: list[tuple[str, str]] = [
    ("eve", "alice"),
    ("eve", "carol"),
    ("frank", "heidi"),
    ("chen", "sybil"),
    ("dmitri", "quentin"),
    ("mallory", "oscar"),
]

PRIVACY: dict[str, dict[str, Any]] = {
    "mallory": {"discoverable": False},
    "judy": {"who_can_message": "everyone"},
    "oscar": {"who_can_message": "everyone"},
    "walter": {"who_can_message": "nobody"},
}

# (author, hours before the current hour, text)
POSTS: list[tuple[str, int, str]] = [
    ("alice", 3, "Finally sent the overhang problem at the gym. Forearms: gone."),
    ("alice", 50, "Anyone up for Fontainebleau next month? Car has two free seats."),
    ("bob", 8, "Tried cooking for the climbing crew. We ordered pizza."),
    ("carol", 20, "Glacier course dates are out: three weekends in June."),
    ("dave", 30, "New coffee place next to the wall. Dangerous combination."),
    ("erin", 14, "Golden hour on the north face. Photos in the thread."),
    ("frank", 70, "40 km trail run, then a bouldering session. Sleeping now."),
    ("grace", 26, "Reset the blue circuit. Be nice to the new crimps."),
    ("heidi", 5, "Bass strings changed before the gig. Always a gamble."),
    ("ivan", 40, "Monk's 'Ruby, My Dear' on repeat all week."),
    ("judy", 10, "Thursday jam: bring charts, bring friends, bring snacks."),
    ("mallory", 90, "Practising long tones. The neighbours love me."),
    ("niaj", 33, "Found a first pressing of Kind of Blue at the flea market!"),
    ("olivia", 18, "Music theory workshop on Saturday, all levels welcome."),
    ("peggy", 60, "The Blue Room finally fixed the monitor mix."),
    ("quentin", 2, "Friend-of-friend suggestions in one Cypher query. Graphs are fun."),
    ("quentin", 75, "Pun of the day: I would tell you a UDP joke but you might not get it."),
    ("rupert", 12, "Every network call needs a timeout. Every. Single. One."),
    ("sybil", 44, "Wrote a tiny type checker over the weekend. It rejects everything."),
    ("trent", 7, "Gig tonight with the jam crew, then a deploy tomorrow morning."),
    ("uma", 22, "Sunday climbing, Monday pipelines. Balance."),
    ("victor", 36, "The borrow checker and I have reached an understanding."),
    ("walter", 80, "Reminder: rotate your secrets. Yes, that one too."),
    ("xena", 16, "Currently reading: three novels and a cookbook."),
    ("yusuf", 28, "Translating a poem is rewriting it with someone watching."),
    ("zoe", 9, "New sci-fi shelf at the library. Also: I fell off a V1 today."),
    ("amir", 48, "Book club picks for next month: vote in the comments."),
    ("beatriz", 24, "Finished The Left Hand of Darkness. Still thinking about it."),
    ("chen", 55, "Short story draft done. 2,000 words, 1,500 of them good."),
    ("dmitri", 38, "Anna Karenina, chapter 1: already suspicious of everyone."),
    ("eve", 1, "Hi everyone! New in town, into climbing and books."),
    ("oscar", 6, "The demo graph has four communities. Can you find the bridges?"),
    ("oscar", 100, "Degree distribution of our tiny network: delightfully boring."),
]

REPLIES = [
    "Love this!",
    "Count me in.",
    "Ha, classic.",
    "Wish I'd been there.",
    "Same here.",
    "Great news!",
    "Tell me more.",
    "Saving this for later.",
]


def _friend_pairs() -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for members in COMMUNITIES:
        k = len(members)
        # Ring lattice: friends with the two neighbours on each side. The pairs three
        # apart are left out, so everyone has friend-of-friend suggestions in their circle.
        for i in range(k):
            for step in (1, 2):
                pairs.append((members[i], members[(i + step) % k]))
    pairs.extend(BRIDGES)
    return pairs


def build(now: datetime) -> dict[str, list[dict[str, Any]]]:
    """All demo rows. Deterministic apart from `now`, which anchors the timestamps."""
    hour = now.replace(minute=0, second=0, microsecond=0)
    rng = random.Random(2024)

    def uid(handle: str) -> str:
        return f"{SOURCE}-{handle}"

    users = []
    for i, (handle, (name, bio)) in enumerate(PEOPLE.items()):
        users.append(
            {
                "id": uid(handle),
                "handle": handle,
                "display_name": name,
                "bio": bio,
                "created_at": hour - timedelta(days=60 - i),
                "source": SOURCE,
                "source_id": handle,
                "discoverable": PRIVACY.get(handle, {}).get("discoverable", True),
                "who_can_message": PRIVACY.get(handle, {}).get("who_can_message", "friends"),
            }
        )
    pairs = _friend_pairs()
    friends: dict[str, set[str]] = {h: set() for h in PEOPLE}
    friendships = []
    for i, (a, b) in enumerate(pairs):
        friends[a].add(b)
        friends[b].add(a)
        friendships.append({"a": uid(a), "b": uid(b), "since": hour - timedelta(days=40 - i % 30)})
    requests = [
        {
            "from_id": uid(a),
            "to_id": uid(b),
            "status": "pending",
            "created_at": hour - timedelta(hours=4 + 3 * i),
        }
        for i, (a, b) in enumerate(PENDING_REQUESTS)
    ]

    posts: list[dict[str, Any]] = []
    likes: list[dict[str, Any]] = []
    comments: list[dict[str, Any]] = []
    for n, (author, hours_ago, text) in enumerate(POSTS):
        created = hour - timedelta(hours=hours_ago)
        post_id = f"{SOURCE}-post-{n + 1}"
        posts.append(
            {
                "id": post_id,
                "author_id": uid(author),
                "text": text,
                "created_at": created,
                "source": SOURCE,
                "source_id": str(n + 1),
            }
        )
        # Friends like about half of what they see; a friend sometimes replies.
        for liker in sorted(friends[author]):
            if rng.random() < 0.5:
                at = created + timedelta(minutes=rng.randint(5, max(6, hours_ago * 50)))
                likes.append({"user_id": uid(liker), "post_id": post_id, "at": min(at, now)})
        if friends[author] and rng.random() < 0.45:
            commenter = rng.choice(sorted(friends[author]))
            at = created + timedelta(minutes=rng.randint(2, max(3, hours_ago * 40)))
            comments.append(
                {
                    "id": f"{SOURCE}-comment-{len(comments) + 1}",
                    "user_id": uid(commenter),
                    "post_id": post_id,
                    "text": rng.choice(REPLIES),
                    "created_at": min(at, now),
                    "source": SOURCE,
                    "source_id": str(len(comments) + 1),
                }
            )
    return {
        "users": users,
        "friendships": friendships,
        "requests": requests,
        "posts": posts,
        "likes": likes,
        "comments": comments,
    }


@counts_retries
def seed_demo(
    driver: Driver,
    *,
    database: str = "neo4j",
    reset: bool = False,
    password: str = DEMO_PASSWORD,
    peppers: passwords.Peppers | None = None,
    now: datetime | None = None,
    show_progress: bool = True,
) -> SeedReport:
    report = SeedReport("socialgraph seed demo")
    begin_seed(report, driver, database, reset)
    rows = build(now or datetime.now(UTC))
    report.sent = {k: len(v) for k, v in rows.items() if k != "requests"}
    report.sent["pending_requests"] = len(rows["requests"])
    with report.step("password hash"):
        # The API's pepper keys (PASSWORD_PEPPERS): the seed and the API share the environment.
        stored = passwords.hash_password(
            password, peppers or passwords.Peppers.from_settings(get_settings())
        )
    credentials = [
        {
            "id": u["id"],
            "password_hash": stored.hash,
            "pepper_id": stored.pepper_id,
            "roles": ["analyst"] if u["handle"] == ANALYST else [],
        }
        for u in rows["users"]
    ]
    kw: dict[str, Any] = {"database": database}
    with bulk.progress(disable=not show_progress) as bar:
        kw["bar"] = bar
        with report.step("users"):
            report.written["users"] = bulk.users(driver, rows["users"], **kw)
            bulk.credentials(driver, credentials, **kw)
        with report.step("friendships"):
            report.written["friendships"] = bulk.friendships(driver, rows["friendships"], **kw)
        with report.step("pending_requests"):
            report.written["pending_requests"] = bulk.requests(driver, rows["requests"], **kw)
        with report.step("posts"):
            report.written["posts"] = bulk.posts(driver, rows["posts"], **kw)
        with report.step("replan"):
            refresh_plans(driver, database)
        with report.step("likes"):
            report.written["likes"] = bulk.likes(driver, rows["likes"], **kw)
        with report.step("comments"):
            report.written["comments"] = bulk.comments(driver, rows["comments"], **kw)
    end_seed(report, driver, database)
    report.notes.append(
        f"Log in as any demo handle (alice, bob, ..., {ANALYST} has the analyst role) with "
        f"password {password!r}."
    )
    report.notes.append("Inbox messages live in Redis and are not seeded.")
    return report
