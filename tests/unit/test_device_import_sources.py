"""The files `pushwise import devices` reads, row by row, and each row checked as `POST /v1/devices`
checks a body: numbering, JSON cells, the OneSignal and Firebase export shapes, refusals."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pytest

from pushwise.device_import.importer import RowRefused, checked
from pushwise.device_import.sources import SourceRow, UnreadableFile, guess_format, open_text, read

IOS = "ab" * 32
FCM = "fcm-token_" + "x1" * 20


def rows(text: str, file_format: str) -> list[SourceRow]:
    return list(read(io.StringIO(text), file_format).rows)


def test_csv_rows_are_numbered_from_one_after_the_header_and_empty_cells_are_left_out() -> None:
    source = read(
        io.StringIO(f'platform,token,user_id,tags,colour\nios,{IOS},u1,"[""vip""]",red\nandroid,{FCM},,,\n'),
        "csv",
    )
    assert source.warnings == ["column 'colour' is not a device field and is ignored"]
    first, second = source.rows
    assert first == SourceRow(1, {"platform": "ios", "token": IOS, "user_id": "u1", "tags": ["vip"]})
    assert second == SourceRow(2, {"platform": "android", "token": FCM})


def test_a_csv_json_cell_that_is_not_json_refuses_its_row_only() -> None:
    found = rows('platform,subscription\nweb,{not json\nweb,"{""endpoint"": ""x""}"\n', "csv")
    assert found[0] == SourceRow(1, None, "subscription: the cell is not JSON")
    assert found[1].fields == {"platform": "web", "subscription": {"endpoint": "x"}}


@pytest.mark.parametrize(("text", "problem"), [("", "empty"), ("token,user_id\n", "no 'platform' column")])
def test_a_csv_without_a_usable_header_is_unreadable(text: str, problem: str) -> None:
    with pytest.raises(UnreadableFile, match=problem):
        read(io.StringIO(text), "csv")


def test_jsonl_rows_are_line_numbers() -> None:
    found = rows(f'{{"platform": "ios", "token": "{IOS}"}}\n\n[1]\nnot json\n', "jsonl")
    assert [row.number for row in found] == [1, 3, 4]
    assert found[0].fields == {"platform": "ios", "token": IOS}
    assert found[1].problem == "not a JSON object"
    assert found[2].problem is not None
    assert found[2].problem.startswith("not JSON")


ONESIGNAL = (
    "id,identifier,session_count,language,timezone,device_type,tags,invalid_identifier,"
    "external_user_id,timezone_id,web_auth,web_p256,notification_types\n"
    f'p1,{IOS},3,fr,3600,0,"{{""level"": ""7""}}",f,u1,Europe/Paris,,,1\n'
    f"p2,{FCM},1,en,0,1,,f,,,,,1\n"
    "p3,https://fcm.googleapis.com/fcm/send/abc,1,en,0,5,,f,u3,,AUTH,P256,1\n"
    f"p4,{IOS},1,en,0,0,,t,u4,,,,1\n"
    f"p5,{IOS},1,en,0,0,,f,u5,,,,-2\n"
    "p6,someone@example.com,1,en,0,11,,f,u6,,,,1\n"
)


def test_onesignal_exports_map_to_device_fields() -> None:
    ios, android, web, unsubscribed, opted_out, email = rows(ONESIGNAL, "onesignal")
    assert ios.fields == {
        "platform": "ios",
        "token": IOS,
        "user_id": "u1",
        "locale": "fr",
        "timezone": "Europe/Paris",
        "tags": ["level:7"],
    }
    assert android.fields == {"platform": "android", "token": FCM, "locale": "en"}
    assert web.fields == {
        "platform": "web",
        "subscription": {
            "endpoint": "https://fcm.googleapis.com/fcm/send/abc",
            "keys": {"p256dh": "P256", "auth": "AUTH"},
        },
        "user_id": "u3",
        "locale": "en",
    }
    assert unsubscribed.problem == "unsubscribed in OneSignal (invalid_identifier)"
    assert opted_out.problem == "unsubscribed in OneSignal (notification_types -2)"
    assert email.problem == "device_type 11 (e-mail) is not a channel pushwise imports"


def test_a_file_not_shaped_like_a_onesignal_export_is_unreadable() -> None:
    with pytest.raises(UnreadableFile, match="device_type"):
        read(io.StringIO("identifier,token\n"), "onesignal")


def test_gzipped_files_are_read_as_they_are_exported(tmp_path: Path) -> None:
    path = tmp_path / "users_export.csv.gz"
    path.write_bytes(gzip.compress(ONESIGNAL.encode()))
    assert guess_format(path) == "csv"
    with open_text(path) as text:
        assert len(list(read(text, "onesignal").rows)) == 6


@pytest.mark.parametrize("wrapped", [True, False])
def test_firebase_token_documents_are_fcm_devices_of_their_user(wrapped: bool) -> None:
    documents = {"u1": {"token": FCM, "timestamp": {"_seconds": 1}}, "u2": {"timestamp": 1}}
    text = json.dumps({"fcmTokens": documents} if wrapped else documents)
    first, second = rows(text, "firebase")
    assert first == SourceRow(1, {"platform": "android", "token": FCM, "user_id": "u1"})
    assert second == SourceRow(2, None, 'u2: no "token" string in the document')


def test_firebase_json_of_another_shape_is_unreadable() -> None:
    with pytest.raises(UnreadableFile):
        list(read(io.StringIO("[1, 2]"), "firebase").rows)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.csv", "csv"),
        ("a.CSV.gz", "csv"),
        ("a.jsonl", "jsonl"),
        ("a.ndjson", "jsonl"),
        ("a.json", "firebase"),
        ("a.txt", None),
    ],
)
def test_format_from_the_file_name(name: str, expected: str | None) -> None:
    assert guess_format(Path(name)) == expected


def test_a_row_is_checked_as_the_api_checks_a_device() -> None:
    registration = checked(
        SourceRow(1, {"platform": "ios", "token": IOS.upper(), "user_id": "u1", "tags": ["vip"]}),
        allow_private=False,
    )
    assert (registration.token, registration.user_external_id, registration.tags) == (IOS, "u1", ("vip",))


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"platform": "ios", "token": "xyz"}, "token: an APNs token is"),
        ({"platform": "watch", "token": IOS}, "platform: Input should be"),
        (
            {"platform": "ios", "token": IOS, "tags": ["vip"]},
            "tags: tags are added to a user: give the row a user_id",
        ),
        ({"platform": "ios", "token": IOS, "user_id": "u", "timezone": "Mars/Olympus"}, "timezone:"),
        (
            {
                "platform": "web",
                "subscription": {"endpoint": "http://10.0.0.1/x", "keys": {"p256dh": "a", "auth": "b"}},
            },
            "subscription",
        ),
    ],
)
def test_refusals_name_the_field(fields: dict[str, object], reason: str) -> None:
    with pytest.raises(RowRefused) as refused:
        checked(SourceRow(4, fields), allow_private=False)
    assert str(refused.value).startswith(reason)


def test_an_unreadable_row_is_refused_with_its_problem() -> None:
    with pytest.raises(RowRefused, match="not a JSON object"):
        checked(SourceRow(2, None, "not a JSON object"), allow_private=False)
