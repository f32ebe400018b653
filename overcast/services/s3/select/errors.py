"""S3 Select's errors (400 unless noted), with the codes S3 answers."""

from __future__ import annotations

from overcast.services.s3.errors import S3Error


class ParseUnexpectedToken(S3Error):
    message = "Unexpected token found in the SQL expression."


class ParseExpectedKeyword(S3Error):
    message = "Did not find the expected keyword in the SQL expression."


class ParseExpectedTokenType(S3Error):
    message = "Did not find the expected token in the SQL expression."


class ParseInvalidTypeParam(S3Error):
    message = "The SQL expression contains an invalid parameter value."


class ParseUnsupportedSyntax(S3Error):
    message = "The SQL expression contains unsupported syntax."


class UnsupportedSyntax(S3Error):
    message = "Encountered invalid syntax."


class CastFailed(S3Error):
    message = (
        "Attempt to convert from one data type to another using CAST failed in the SQL expression."
    )


class EvaluatorInvalidArguments(S3Error):
    message = "Incorrect number of arguments in the function call in the SQL expression."


class UnsupportedFunction(S3Error):
    message = "Encountered an unsupported SQL function."


class InvalidDataType(S3Error):
    message = "The SQL expression contains an invalid data type."


class IllegalSqlFunctionArgument(S3Error):
    message = "Illegal argument was used in the SQL function."


class DivideByZero(S3Error):
    message = "Division by zero is not allowed."


class InvalidExpressionType(S3Error):
    message = "The ExpressionType is invalid. Only SQL expressions are supported."


class InvalidCompressionFormat(S3Error):
    message = (
        "The file is not in a supported compression format. Only GZIP and BZIP2 are supported."
    )


class InvalidFileHeaderInfo(S3Error):
    message = "The FileHeaderInfo is invalid. Only NONE, USE, and IGNORE are supported."


class InvalidJsonType(S3Error):
    message = "The JsonType is invalid. Only DOCUMENT and LINES are supported."


class InvalidQuoteFields(S3Error):
    message = "The QuoteFields is invalid. Only ALWAYS and ASNEEDED are supported."


class InvalidRequestParameter(S3Error):
    message = "The value of a parameter in SelectRequest element is invalid."


class JSONParsingError(S3Error):
    message = "Encountered an error parsing the JSON file. Check the file and try again."


class CSVParsingError(S3Error):
    message = "Encountered an error parsing the CSV file. Check the file and try again."


class OverMaxRecordSize(S3Error):
    message = (
        "The length of a record in the input or result is greater than maxCharsPerRecord of 1 MB."
    )


class ParquetParsingError(S3Error):
    message = "Encountered an error parsing the Parquet file."


class MissingRequiredParameter(S3Error):
    message = "The SelectRequest entity is missing a required parameter."


class ExpressionTooLong(S3Error):
    message = (
        "The SQL expression is too long: The maximum byte-length for the SQL expression is 256 KB."
    )
