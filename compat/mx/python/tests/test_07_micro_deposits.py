"""Micro-deposits through MicrodepositsApi: the spec types `micro_deposit` as an array, the SDK
models it so, and openiav answers with a one-element array."""

import mx_platform_python as mxp

import mx_helpers as h


def test_micro_deposit_lifecycle(mx):
    user = h.create_user(mx)
    created = mx.microdeposits.create_microdeposit(user.guid, mxp.MicrodepositRequestBody(
        micro_deposit=mxp.MicrodepositElements(
            account_name="My test account", account_number="3331261", account_type="CHECKING",
            email="a@example.com", first_name="Joshy", last_name="Grobanne", routing_number="068899994")))
    assert mx.status == 200
    assert isinstance(created, mxp.MicrodepositResponseBody), created
    assert isinstance(created.micro_deposit, list) and len(created.micro_deposit) == 1
    d = created.micro_deposit[0]
    assert d.guid.startswith("MIC-")
    assert (d.status, d.institution_code, d.account_number) == ("INITIATED", "mxbank", "3331261")

    read = mx.microdeposits.read_user_microdeposit(d.guid, user.guid)
    assert isinstance(read, mxp.MicrodepositResponseBody)
    assert read.micro_deposit[0].status == "DEPOSITED"

    listed = mx.microdeposits.list_user_microdeposits(user.guid)
    assert isinstance(listed, mxp.MicrodepositsResponseBody)
    assert [m.guid for m in listed.micro_deposits] == [d.guid]

    wrong = mx.microdeposits.verify_microdeposit(d.guid, mxp.MicrodepositVerifyRequestBody(
        micro_deposit=mxp.MicrodepositVerifyRequest(deposit_amount_1=0.01, deposit_amount_2=0.02)))
    assert wrong.micro_deposit[0].status == "DEPOSITED"
    assert "do not match" in wrong.micro_deposit[0].error_message

    verified = mx.microdeposits.verify_microdeposit(d.guid, mxp.MicrodepositVerifyRequestBody(
        micro_deposit=mxp.MicrodepositVerifyRequest(deposit_amount_1=0.09, deposit_amount_2=0.09)))
    assert mx.status == 200
    assert verified.micro_deposit[0].status == "VERIFIED"
    assert verified.micro_deposit[0].verified_at

    mx.microdeposits.delete_microdeposit(d.guid, user.guid)
    assert mx.status == 204
    assert h.failure_status(lambda: mx.microdeposits.read_user_microdeposit(d.guid, user.guid)) == 404
