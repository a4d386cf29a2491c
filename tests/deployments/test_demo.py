"""`make run` shows one closed deployment of the demo team, with its log and the hours it credited."""

from __future__ import annotations

from rescueops import demo
from rescueops.accounts import service as accounts
from rescueops.deployments import service as deployments
from rescueops.deployments.tables import DeploymentStatus
from rescueops.equipment import service as equipment
from rescueops.members.tables import HoursEntry
from rescueops.settings import get_settings


async def test_the_demo_team_has_a_closed_deployment_with_its_log(db) -> None:
    await demo.load_demo(get_settings())
    captain = await accounts.load_principal(await accounts.find_user_id("captain"))
    [deployment] = await deployments.list_deployments(captain)
    assert deployment.status is DeploymentStatus.closed and deployment.team_code == "CF-WNT-01"
    assert (deployment.rescued, deployment.treated, deployment.people, deployment.equipment_out) == (6, 2, 6, 0)
    detail = await deployments.get_deployment(captain, deployment.id)
    assert [e.kind.value for e in detail.log][::-1] == [kind for _, kind, _, _ in demo.DEPLOYMENT_LOG]
    assert [t.to_status.value for t in detail.transitions] == ["alerted", "mobilising", "on_scene", "demobilising", "closed"]
    hours = await HoursEntry.select().where(HoursEntry.source == "deployment")
    assert len(hours) == 6 and {float(h["hours"]) for h in hours} == {10.0}
    assert (await equipment.get_item(None, "CF-WNT-ROPE-002")).status.value == "in_service"
    assert await deployments.deployed_people() == set()
