"""DynamoDB attribute values: validation messages, canonical numbers, size, equality, order."""

from __future__ import annotations

import itertools
import random
from decimal import Decimal

import pytest

from overcast.services.dynamodb import values as av
from overcast.services.dynamodb.errors import ValidationException


def error_of(call, *args, **kwargs) -> str:
    with pytest.raises(ValidationException) as caught:
        call(*args, **kwargs)
    return caught.value.error_message


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"SS": []}, "One or more parameter values were invalid: An string set  may not be empty"),
        ({"NS": []}, "One or more parameter values were invalid: An number set  may not be empty"),
        ({"BS": []}, "One or more parameter values were invalid: Binary sets should not be empty"),
        (
            {"SS": ["a", "a"]},
            "One or more parameter values were invalid: "
            "Input collection [a, a] contains duplicates.",
        ),
        (
            {"BS": [b"b", b"b"]},
            "One or more parameter values were invalid: "
            "Input collection [Yg==, Yg==]of type BS contains duplicates.",
        ),
        ({"NS": ["1", "1.0"]}, "Input collection contains duplicates"),
        ({"N": ""}, "The parameter cannot be converted to a numeric value"),
        ({"N": "b"}, "The parameter cannot be converted to a numeric value: b"),
        ({"N": "NaN"}, "The parameter cannot be converted to a numeric value: NaN"),
        (
            {"N": "123456789012345678901234567890123456789"},
            "Attempting to store more than 38 significant digits in a Number",
        ),
        ({"N": "1e126"}, av.OVERFLOW),
        ({"N": "-1e126"}, av.OVERFLOW),
        ({"N": "1e-131"}, av.UNDERFLOW),
        (
            {},
            "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes",
        ),
        (
            {"S": "a", "N": "1"},
            "Supplied AttributeValue has more than one datatypes set, "
            "must contain exactly one of the supported datatypes",
        ),
        (
            {"NULL": False},
            "One or more parameter values were invalid: "
            "Null attribute value types must have the value of true",
        ),
    ],
)
def test_invalid_values_get_aws_messages(value, message):
    # The wording of DynamoDB's older validation layer (Scan, batch writes, transactions).
    assert error_of(av.validate_item, {"a": value}, older=True) == message


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            {"SS": ["b", "a", "b"]},
            'One or more parameter values were invalid: Input collection ["a", "b", "b"] '
            "contains duplicates.",
        ),
        (
            {"BS": [b"\xff", b"\x00", b"\x00"]},
            'One or more parameter values were invalid: Input collection ["AA==","/w==","AA=="]'
            "of type BS contains duplicates.",
        ),
        (
            {"NS": ["2", "1", "2"]},
            "One or more parameter values were invalid: Input collection contains duplicates.",
        ),
        ({"N": ""}, "The parameter cannot be converted to a numeric value: "),
        ({"N": "abc"}, "The parameter cannot be converted to a numeric value: abc"),
    ],
)
def test_current_layer_wording(value, message):
    assert error_of(av.validate_item, {"a": value}) == message


def test_valid_values_pass_including_empty_strings_and_nested_documents():
    av.validate_item(
        {
            "s": {"S": ""},
            "b": {"B": b""},
            "ss": {"SS": ["", "x"]},
            "n": {"N": "1E-130"},
            "big": {"N": "9.9999999999999999999999999999999999999E+125"},
            "doc": {"M": {"l": {"L": [{"NULL": True}, {"BOOL": False}, {"M": {}}]}}},
        }
    )


def test_nesting_beyond_32_levels_is_refused():
    # The attribute is level 1: 31 wrappers put the leaf at level 32 (the deepest allowed).
    value: dict = {"S": "x"}
    for _ in range(31):
        value = {"M": {"n": value}}
    av.validate_item({"a": value})
    assert error_of(av.validate_item, {"a": {"L": [value]}}) == av.TOO_DEEP


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("1.50", "1.5"),
        ("-0", "0"),
        ("0.000", "0"),
        ("1E+2", "100"),
        ("+7", "7"),
        ("0012.3400", "12.34"),
        ("-1e-3", "-0.001"),
    ],
)
def test_numbers_are_returned_in_canonical_form(text, canonical):
    assert av.normalize({"N": text}) == {"N": canonical}
    assert av.normalize({"NS": [text]}) == {"NS": [canonical]}


def test_arithmetic_keeps_38_digits_and_checks_range():
    big = Decimal("9.9999999999999999999999999999999999999E+125")
    with pytest.raises(ValidationException, match="Number overflow"):
        av.arithmetic("+", big, big)
    result = av.arithmetic("+", Decimal("0.1"), Decimal("0.2"))
    assert av.format_number(result) == "0.3"
    assert av.format_number(av.arithmetic("-", Decimal(5), Decimal(5))) == "0"


def test_key_validation_messages():
    schema = [{"AttributeName": "pk", "KeyType": "HASH"}]
    definitions = [{"AttributeName": "pk", "AttributeType": "S"}]
    av.validate_key({"pk": {"S": "a"}}, schema, definitions)
    mismatch = "The provided key element does not match the schema"
    assert error_of(av.validate_key, {"pk": {"N": "1"}}, schema, definitions) == mismatch
    assert error_of(av.validate_key, {"other": {"S": "a"}}, schema, definitions) == mismatch
    assert error_of(av.validate_key, {"pk": {"S": ""}}, schema, definitions) == (
        "One or more parameter values are not valid. The AttributeValue for a key attribute "
        "cannot contain an empty string value. Key: pk"
    )


def test_item_size_follows_documented_rules():
    assert av.item_size({"ab": {"S": "héllo"}}) == 2 + 6
    assert av.item_size({"n": {"N": "12345"}}) == 1 + 4  # pairs 1|23|45 plus one
    assert av.item_size({"b": {"BOOL": True}, "z": {"NULL": True}}) == 4
    assert av.item_size({"l": {"L": [{"S": "ab"}]}}) == 1 + 3 + 3
    assert av.item_size({"m": {"M": {"k": {"S": "ab"}}}}) == 1 + 3 + 1 + 2 + 1


def test_equality_by_value_and_unordered_sets():
    assert av.equals({"N": "1.0"}, {"N": "1"})
    assert av.equals({"SS": ["a", "b"]}, {"SS": ["b", "a"]})
    assert av.equals({"NS": ["1", "2"]}, {"NS": ["2.00", "1"]})
    assert av.equals({"M": {"a": {"L": [{"N": "1"}]}}}, {"M": {"a": {"L": [{"N": "1.0"}]}}})
    assert not av.equals({"S": "1"}, {"N": "1"})
    assert not av.equals({"L": [{"N": "1"}, {"N": "2"}]}, {"L": [{"N": "2"}, {"N": "1"}]})


def test_compare_orders_strings_by_utf8_bytes_and_refuses_other_types():
    assert av.compare({"S": "Z"}, {"S": "a"}) < 0
    assert av.compare({"S": "\uffff"}, {"S": "\U0001f600"}) < 0  # UTF-8, not UTF-16, order
    assert av.compare({"B": b"\x7f"}, {"B": b"\x80"}) < 0  # unsigned bytes
    assert av.compare({"N": "10"}, {"N": "9"}) > 0
    with pytest.raises(TypeError):
        av.compare({"S": "1"}, {"N": "1"})
    with pytest.raises(TypeError):
        av.compare({"BOOL": True}, {"BOOL": True})


def test_sort_key_bytes_preserve_numeric_order():
    rng = random.Random(7)
    numbers = ["0", "1e-130", "-1e-130", "9.9999999999999999999999999999999999999e125", "-1e125"]
    for _ in range(400):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 38)))
        numbers.append(f"{rng.choice(['', '-'])}{digits}e{rng.randint(-90, 80)}")
    numbers = [av.format_number(av.parse_number(n)) for n in numbers]
    by_value = sorted(numbers, key=Decimal)
    by_bytes = sorted(numbers, key=lambda n: av.sort_key_bytes({"N": n}))
    assert [Decimal(n) for n in by_bytes] == [Decimal(n) for n in by_value]


def test_sort_key_bytes_for_strings_and_binaries_match_compare():
    values = [{"S": s} for s in ["", "a", "ab", "b", "Z", "é", "\U0001f600", "\uffff"]]
    ordered = sorted(values, key=av.sort_key_bytes)
    for first, second in itertools.pairwise(ordered):
        assert av.compare(first, second) <= 0


def test_hash_key_bytes_are_canonical_and_typed():
    assert av.hash_key_bytes({"N": "1.0"}) == av.hash_key_bytes({"N": "1"})
    assert av.hash_key_bytes({"S": "1"}) != av.hash_key_bytes({"N": "1"})
    assert av.hash_key_bytes({"B": b"1"}) != av.hash_key_bytes({"S": "1"})


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("+5", "5"),
        ("+0.0", "0"),
        ("+1e2", "100"),
        ("1.5E+3", "1500"),
        ("+.5", "0.5"),
        ("5.", "5"),
        ("1.e5", "100000"),
        ("00042", "42"),
        ("+1e-2", "0.01"),
        ("1.23E10", "12300000000"),
    ],
)
def test_accepted_number_forms(text, stored):
    assert av.normalize({"N": text}) == {"N": stored}


@pytest.mark.parametrize(
    "text",
    [
        "+e2",
        "e2",
        "1+2",
        "1.2.3",
        "++5",
        "+-5",
        "+",
        "-",
        "1e",
        "1e+",
        ".",
        "0x5",
        "Infinity",
        "1_000",
        " 5",
        "5 ",
        "1 5",
    ],
)
def test_rejected_number_forms(text):
    assert "numeric value" in error_of(av.validate_item, {"a": {"N": text}})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1e99999999999", av.OVERFLOW),
        ("1e-99999999999", av.UNDERFLOW),
        ("1e2147483648", av.OVERFLOW),
        ("0e126", av.OVERFLOW),
        ("0e-131", av.UNDERFLOW),
        (
            "1e9223372036854775808",
            "The parameter cannot be converted to a numeric value: 1e9223372036854775808",
        ),
        ("1." + "0" * 2000 + "1", av.TOO_PRECISE),
    ],
)
def test_exponents_are_read_in_full(text, message):
    assert error_of(av.validate_item, {"a": {"N": text}}) == message


def test_zero_within_range_is_zero():
    assert av.normalize({"N": "0e125"}) == {"N": "0"}


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("0", 1),
        ("1", 2),
        ("12", 2),
        ("123", 3),
        ("1234", 3),
        ("12345678901234567890123456789012345678", 20),
        ("0042", 2),
        ("100", 2),
        ("1010", 3),
        ("0.0000001", 2),
        ("1E125", 2),
        ("1E-100", 2),
        ("1.5", 3),
        ("15", 2),
        ("1.200", 3),
        ("3.14159", 5),
        ("123456", 4),
        ("100.5", 4),
        ("0.15", 2),
        ("-42", 3),
        ("-0", 1),
    ],
)
def test_number_sizes_as_aws_measures_them(text, size):
    # Measured byte costs (an accept/reject pair either side of the 400 KB limit).
    assert av.value_size({"N": text}) == size


def test_empty_attribute_names_are_refused():
    assert error_of(av.validate_item, {"": {"S": "x"}}) == "Empty attribute name"
    assert error_of(av.validate_item, {"m": {"M": {"": {"S": "x"}}}}) == "Empty attribute name"


def test_too_deep_values_are_reported_before_empty_names():
    deep: dict = {"S": "x"}
    for _ in range(40):
        deep = {"M": {"n": deep}}
    item = {"m": {"M": {"": {"S": "x"}}}, "d": deep}
    assert error_of(av.validate_item, item) == av.TOO_DEEP
