"""Small article files written into tmp dirs, and an index built from them."""

from __future__ import annotations

from pathlib import Path

FERRY_QUESTION = "When does the ferry to Oban leave?"


def write_article(folder: Path, name: str, title: str, *paragraphs: str) -> Path:
    """Write a .txt article (title line, then paragraphs) and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.txt"
    path.write_text(title + "\n\n" + "\n\n".join(paragraphs) + "\n")
    return path


def ferry(folder: Path) -> Path:
    return write_article(
        folder,
        "ferry",
        "Ferry news",
        "The ferry to Oban leaves at noon from the north pier.",
        "Tickets cost twelve pounds.",
    )


def bridge(folder: Path) -> Path:
    return write_article(folder, "bridge", "Bridge works", "The old bridge closes in May.")


def many_articles(
    folder: Path, count: int, paragraphs: int = 5, prefix: str = "town-"
) -> list[Path]:
    """``count`` articles of distinct made-up paragraphs, to give a build real work."""
    towns = ["Arden", "Brill", "Corfe", "Dunster", "Eyam", "Frome", "Goring", "Hythe"]
    things = ["library", "market", "harbour", "school", "museum", "station", "bakery"]
    written = []
    for n in range(count):
        town = towns[n % len(towns)]
        body = [
            f"The {things[(n + i) % len(things)]} in {town} opened its doors on day {n * 7 + i} "
            f"after {i + 2} years of planning, said councillor number {n}-{i}."
            for i in range(paragraphs)
        ]
        written.append(write_article(folder, f"{prefix}{n:03d}", f"{town} news {n}", *body))
    return written


LIGHTHOUSE_PARAGRAPHS = (
    "The Northern Lighthouse Board said on Tuesday that keepers will return to the "
    "Ardnamurchan lighthouse next spring. The light was automated in 1988.",
    "The tower stands 36 metres tall and was built from granite quarried on the Isle of Mull. "
    "Its designer, Alan Stevenson, also built the Skerryvore light.",
    "Visitors can climb the 152 steps to the lantern room between April and October. "
    "Tickets cost eight pounds for adults.",
    "The board expects the restoration to cost £2.4 million, paid for by a heritage grant.",
)


def lighthouse(folder: Path) -> Path:
    """A short article whose questions ask for names, dates, numbers and amounts."""
    return write_article(
        folder, "lighthouse", "Keepers return to Ardnamurchan lighthouse", *LIGHTHOUSE_PARAGRAPHS
    )
