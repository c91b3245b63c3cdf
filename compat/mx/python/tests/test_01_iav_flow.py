"""Seed 001: the API-only instant account verification flow, end to end, with mx-platform-python."""

import mx_platform_python as mxp

import mx_helpers as h


def test_iav_flow_end_to_end(mx):
    # 1. Create a user.
    user_id = h.unique_id("partner")
    body = mx.users.create_user(mxp.UserCreateRequestBody(user=mxp.UserCreateRequest(
        id=user_id, is_disabled=False, email=f"{user_id}@example.com", metadata="Yada yada yada")))
    assert mx.status == 200
    assert isinstance(body, mxp.UserResponseBody)
    user = body.user
    assert isinstance(user, mxp.UserResponse)
    assert user.guid.startswith("USR-")
    assert (user.id, user.email, user.is_disabled, user.metadata) == (
        user_id, f"{user_id}@example.com", False, "Yada yada yada")

    # 2.1 Search for MX Bank.
    institutions = mx.institutions.list_institutions(name="MX Bank")
    assert mx.status == 200
    assert isinstance(institutions, mxp.InstitutionsResponseBody)
    assert all(isinstance(i, mxp.InstitutionResponse) for i in institutions.institutions)
    codes = {i.code for i in institutions.institutions}
    assert {"mxbank", "mx_bank_oauth"} <= codes, codes
    mxbank = next(i for i in institutions.institutions if i.code == "mxbank")
    assert mxbank.name == "MX Bank"
    assert mxbank.iso_country_code == "US"
    assert mxbank.supports_account_verification is True
    h.assert_pagination(institutions.pagination, current_page=1)

    # 2.2 Institution-required credentials.
    creds = mx.institutions.list_institution_credentials(mxbank.code)
    assert mx.status == 200
    assert isinstance(creds, mxp.CredentialsResponseBody)
    assert len(creds.credentials) == 2
    assert all(isinstance(c, mxp.CredentialResponse) for c in creds.credentials)
    login, password = sorted(creds.credentials, key=lambda c: c.display_order)
    assert (login.field_name, login.label) == ("LOGIN", "Username")
    assert (password.field_name, password.label) == ("PASSWORD", "Password")
    assert login.guid.startswith("CRD-") and password.guid.startswith("CRD-")
    h.assert_pagination(creds.pagination, total_entries=2)

    # 2.3 Create the member without aggregating.
    created = mx.members.create_member(user.guid, mxp.MemberCreateRequestBody(member=mxp.MemberCreateRequest(
        institution_code="mxbank",
        credentials=[mxp.CredentialRequest(guid=login.guid, value="mxuser"),
                     mxp.CredentialRequest(guid=password.guid, value="password")],
        skip_aggregation=True)))
    assert mx.status == 200
    assert isinstance(created, mxp.MemberResponseBody)
    member = created.member
    assert isinstance(member, mxp.MemberResponse)
    assert member.guid.startswith("MBR-")
    assert member.institution_code == "mxbank"
    assert member.user_guid == user.guid
    assert member.is_being_aggregated is False
    assert member.is_oauth is False

    # 3. Verify.
    verified = mx.members.verify_member(member.guid, user.guid)
    assert mx.status == 200
    assert isinstance(verified, mxp.MemberResponseBody), verified
    assert verified.member.guid == member.guid

    # 4. Poll until the account-selection challenge.
    status = h.poll_status(mx, user.guid, member.guid)
    assert status.connection_status == "CHALLENGED"
    assert status.is_authenticated is True
    assert len(status.challenges) == 1
    challenge = status.challenges[0]
    assert isinstance(challenge, mxp.ChallengeResponse)
    assert challenge.type == "OPTIONS"
    assert challenge.label == "Please select an account:"
    assert challenge.guid.startswith("CRD-")
    assert challenge.options
    for option in challenge.options:
        assert isinstance(option, mxp.OptionResponse)
        assert option.value.startswith("ACT-")
        assert isinstance(option.label, str)

    listed = mx.members.list_member_challenges(member.guid, user.guid)
    assert mx.status == 200
    assert isinstance(listed, mxp.ChallengesResponseBody)
    assert [c.guid for c in listed.challenges] == [challenge.guid]
    assert [o.value for o in listed.challenges[0].options] == [o.value for o in challenge.options]

    # 5.1 Answer with the first option.
    chosen = challenge.options[0].value
    resumed = mx.members.resume_aggregation(member.guid, user.guid, mxp.MemberResumeRequestBody(
        member=mxp.MemberResumeRequest(challenges=[mxp.CredentialRequest(guid=challenge.guid, value=chosen)])))
    assert mx.status == 202
    assert isinstance(resumed, mxp.MemberResponseBody), resumed
    assert resumed.member.connection_status == "RESUMED"

    # 5.2 Poll until CONNECTED and idle.
    status = h.poll_status(mx, user.guid, member.guid)
    assert status.connection_status == "CONNECTED"
    assert status.is_being_aggregated is False
    assert isinstance(status.successfully_aggregated_at, str)
    h.parse_time(status.successfully_aggregated_at)

    # 6. Account numbers by member: exactly the chosen account.
    numbers = mx.accounts.list_account_numbers_by_member(member.guid, user.guid)
    assert mx.status == 200
    assert isinstance(numbers, mxp.AccountNumbersResponseBody)
    assert len(numbers.account_numbers) == 1
    n = numbers.account_numbers[0]
    assert isinstance(n, mxp.AccountNumberResponse)
    assert n.account_guid == chosen
    assert n.member_guid == member.guid
    assert n.user_guid == user.guid
    assert h.is_valid_aba(n.routing_number), n.routing_number
    assert n.account_number and n.account_number.isdigit()
    h.assert_pagination(numbers.pagination, total_entries=1)

    by_account = mx.accounts.list_account_numbers_by_account(chosen, user.guid)
    assert mx.status == 200
    assert isinstance(by_account, mxp.AccountNumbersResponseBody)
    assert [(x.account_guid, x.routing_number, x.account_number) for x in by_account.account_numbers] == [
        (chosen, n.routing_number, n.account_number)]

    # No challenge any more: 204 (the SDK returns None for a 204), and resume is refused with 405.
    assert mx.members.list_member_challenges(member.guid, user.guid) is None
    assert mx.status == 204
    assert h.failure_status(lambda: mx.members.resume_aggregation(
        member.guid, user.guid, mxp.MemberResumeRequestBody(member=mxp.MemberResumeRequest(
            challenges=[mxp.CredentialRequest(guid=challenge.guid, value=chosen)])))) == 405

    read = mx.members.read_member(member.guid, user.guid)
    assert isinstance(read, mxp.MemberResponseBody)
    assert read.member.connection_status == "CONNECTED"
    account = mx.accounts.read_account(chosen, user.guid)
    assert isinstance(account, mxp.AccountResponseBody)
    assert isinstance(account.account, mxp.AccountResponse)
    assert account.account.guid == chosen
    assert account.account.member_guid == member.guid
