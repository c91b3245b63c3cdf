"""MX Bank MFA passwords: challenge (TEXT), options (OPTIONS), image (IMAGE_DATA), answered via resume."""

import re

import pytest
import mx_platform_python as mxp

import mx_helpers as h

MFA = [("challenge", "TEXT"), ("options", "OPTIONS"), ("image", "IMAGE_DATA")]
ANSWERS = [
    ("correct", "CONNECTED"),
    ("wrong-answer", "REJECTED"),
    ("SERVER_ERROR", "FAILED"),
    ("UNAVAILABLE", "FAILED"),
    ("DISABLED", "DENIED"),
]


def challenged(mx, password, challenge_type):
    agg = h.aggregated_member(mx, password)
    assert agg.status.connection_status == "CHALLENGED", agg.status
    assert len(agg.status.challenges) == 1
    challenge = agg.status.challenges[0]
    assert isinstance(challenge, mxp.ChallengeResponse)
    assert challenge.type == challenge_type
    assert challenge.guid.startswith("CRD-")
    assert isinstance(challenge.label, str)
    if challenge_type == "OPTIONS":
        assert "correct" in [o.value for o in challenge.options]
        assert all(isinstance(o, mxp.OptionResponse) for o in challenge.options)
    if challenge_type == "IMAGE_DATA":
        assert re.fullmatch(r"data:image/png;base64,[A-Za-z0-9+/]+=*", challenge.image_data)
    return agg, challenge


@pytest.mark.parametrize("answer,expected", ANSWERS, ids=[a for a, _ in ANSWERS])
@pytest.mark.parametrize("password,challenge_type", MFA, ids=[p for p, _ in MFA])
def test_mfa(mx, password, challenge_type, answer, expected):
    agg, challenge = challenged(mx, password, challenge_type)
    user, member = agg.user, agg.member

    listed = mx.members.list_member_challenges(member.guid, user.guid)
    assert mx.status == 200
    assert isinstance(listed, mxp.ChallengesResponseBody)
    assert listed.challenges[0].guid == challenge.guid

    resumed = mx.members.resume_aggregation(member.guid, user.guid, mxp.MemberResumeRequestBody(
        member=mxp.MemberResumeRequest(challenges=[mxp.CredentialRequest(guid=challenge.guid, value=answer)])))
    assert mx.status == 202
    assert isinstance(resumed, mxp.MemberResponseBody), resumed
    assert resumed.member.connection_status == "RESUMED"

    status = h.poll_status(mx, user.guid, member.guid)
    assert status.connection_status == expected, status
    assert status.is_being_aggregated is False
    read = mx.members.read_member(member.guid, user.guid)
    assert isinstance(read, mxp.MemberResponseBody)
    assert read.member.connection_status == expected
    assert mx.members.list_member_challenges(member.guid, user.guid) is None
    assert mx.status == 204


def test_other_job_while_challenged_is_409(mx):
    agg, _ = challenged(mx, "challenge", "TEXT")
    assert h.failure_status(lambda: mx.members.identify_member(agg.member.guid, agg.user.guid)) == 409
    status = mx.members.read_member_status(agg.member.guid, agg.user.guid)
    assert status.member.connection_status == "CHALLENGED"
