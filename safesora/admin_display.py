"""Small pieces the admin lists share: short ids (full id on hover, one click copies it), poster
thumbnails, clipped text. Display only; lists that use them add `AdminListMedia` to their Media."""

from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

SHORT_ID = 10


class AdminListMedia:
    css = {"all": ["safesora/admin-lists.css"]}
    js = ["safesora/admin-lists.js"]


def short_id(pk: str) -> str:
    """The first characters of a long id; the whole id in the tooltip and on the copy button."""
    return format_html('<span class="short-id"><code title="{}">{}…</code><br><button type="button" class="copy-id" '
                       'data-copy="{}" title="copy the full id">copy</button></span>',
                       pk, pk[:SHORT_ID], pk)


def poster_thumbnail(video) -> str:
    """A small poster image (served through the access-checked media view), or a dash."""
    if video is None or not video.poster:
        return "—"
    try:
        url = reverse("annotation:poster", args=[video.pk])  # by name: no app imports another's views
    except NoReverseMatch:
        return "—"
    return format_html('<img class="poster-thumb" src="{}" alt="" loading="lazy" width="56" height="32" '
                       'title="{}">', url, getattr(video.generator, "name", ""))


def two_lines(first: str, second: str) -> str:
    """A value with a smaller second line under it (keeps related columns in one)."""
    return format_html('{}<br><small class="second-line">{}</small>', first, second)


def clipped(text: str, width_em: int = 28) -> str:
    """Text on at most two lines, at most `width_em` wide (it narrows with the page), cut with an
    ellipsis; the whole text on hover."""
    return format_html('<span class="clipped" style="max-width:{}em" title="{}">{}</span>', width_em, text, text)
