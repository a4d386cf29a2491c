"""The in-app inbox page: messages in the reader's language, opened (and marked read) with one click."""

from __future__ import annotations

from rescueops.db import write_transaction
from rescueops.events import service as events
from rescueops.events.tables import Notification
from tests.accounts.test_auth import csrf_from
from tests.web.test_pages import sign_in


async def test_inbox_page_lists_and_opens_messages(client, make_user) -> None:
    user_id = await sign_in(client, make_user, "captain", unit="150426")
    other, _ = await make_user("member", unit="150426")
    async with write_transaction():
        told = await events.notify([user_id, other, user_id], kind="drill.reminder", title="演练提醒：水上救援月度训练（24 小时内）",
                                   body="明天 09:00 在乌丹训练场举行。", link="/drills/7", key="drill:7:t-1", org_path="/150000/150400/")
    assert told == [user_id, other]
    page = await client.get("/inbox")
    assert page.status_code == 200 and "消息" in page.text and "演练提醒：水上救援月度训练" in page.text
    message = (await Notification.select(Notification.id).where(Notification.user == user_id).first())["id"]
    opened = await client.post(f"/inbox/{message}/read", data={"_csrf_token": csrf_from(page.text)}, follow_redirects=False)
    assert opened.status_code in (302, 303) and opened.headers["location"] == "/drills/7"
    assert (await Notification.select(Notification.read_at).where(Notification.id == message).first())["read_at"] is not None
    assert "暂无消息" in (await client.get("/inbox?unread=true")).text
    theirs = (await Notification.select(Notification.id).where(Notification.user == other).first())["id"]
    assert (await client.post(f"/inbox/{theirs}/read", data={"_csrf_token": csrf_from(page.text)})).status_code == 404
