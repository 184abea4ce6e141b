"""Toy airline tools: real names and semantics (including `send_certificate` returning None after 3)."""

import json
from typing import Any, Dict

from tau_bench.envs.tool import Tool


def _info(name: str, description: str, properties: Dict[str, Any], required: list) -> Dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {"type": "object", "properties": properties, "required": required},
        },
    }


_STR = {"type": "string"}


class Calculate(Tool):
    @staticmethod
    def invoke(data: Dict[str, Any], expression: str) -> str:
        if not all(char in "0123456789+-*/(). " for char in expression):
            return "Error: invalid characters in expression"
        try:
            return str(round(float(eval(expression, {"__builtins__": None}, {})), 2))
        except Exception as e:
            return f"Error: {e}"

    @staticmethod
    def get_info() -> Dict[str, Any]:
        return _info(
            "calculate",
            "Calculate the result of a mathematical expression.",
            {"expression": _STR},
            ["expression"],
        )


class CancelReservation(Tool):
    @staticmethod
    def invoke(data: Dict[str, Any], reservation_id: str) -> str:
        reservations = data["reservations"]
        if reservation_id not in reservations:
            return "Error: reservation not found"
        reservation = reservations[reservation_id]
        refunds = [
            {"payment_id": p["payment_id"], "amount": -p["amount"]} for p in reservation["payment_history"]
        ]
        reservation["payment_history"].extend(refunds)
        reservation["status"] = "cancelled"
        return json.dumps(reservation)

    @staticmethod
    def get_info() -> Dict[str, Any]:
        return _info(
            "cancel_reservation",
            "Cancel the whole reservation.",
            {"reservation_id": _STR},
            ["reservation_id"],
        )


class GetReservationDetails(Tool):
    @staticmethod
    def invoke(data: Dict[str, Any], reservation_id: str) -> str:
        if reservation_id in data["reservations"]:
            return json.dumps(data["reservations"][reservation_id])
        return "Error: user not found"

    @staticmethod
    def get_info() -> Dict[str, Any]:
        return _info(
            "get_reservation_details",
            "Get the details of a reservation.",
            {"reservation_id": _STR},
            ["reservation_id"],
        )


class GetUserDetails(Tool):
    @staticmethod
    def invoke(data: Dict[str, Any], user_id: str) -> str:
        if user_id in data["users"]:
            return json.dumps(data["users"][user_id])
        return "Error: user not found"

    @staticmethod
    def get_info() -> Dict[str, Any]:
        return _info(
            "get_user_details",
            "Get the details of a user, including reservations.",
            {"user_id": _STR},
            ["user_id"],
        )


class SendCertificate(Tool):
    @staticmethod
    def invoke(data: Dict[str, Any], user_id: str, amount: int) -> str:
        users = data["users"]
        if user_id not in users:
            return "Error: user not found"
        user = users[user_id]
        for id_ in [3221322, 3221323, 3221324]:
            payment_id = "certificate_" + str(id_)
            if payment_id not in user["payment_methods"]:
                user["payment_methods"][payment_id] = {
                    "source": "certificate",
                    "amount": amount,
                    "id": payment_id,
                }
                return f"Certificate {payment_id} added to user {user_id} with amount {amount}."
        # falls through and returns None after three certificates, as upstream does

    @staticmethod
    def get_info() -> Dict[str, Any]:
        return _info(
            "send_certificate",
            "Send a certificate to a user.",
            {"user_id": _STR, "amount": {"type": "number"}},
            ["user_id", "amount"],
        )


class Think(Tool):
    @staticmethod
    def invoke(data: Dict[str, Any], thought: str) -> str:
        return ""

    @staticmethod
    def get_info() -> Dict[str, Any]:
        return _info("think", "Think about something.", {"thought": _STR}, ["thought"])


class TransferToHumanAgents(Tool):
    @staticmethod
    def invoke(data: Dict[str, Any], summary: str) -> str:
        return "Transfer successful"

    @staticmethod
    def get_info() -> Dict[str, Any]:
        return _info(
            "transfer_to_human_agents", "Transfer the user to a human agent.", {"summary": _STR}, ["summary"]
        )


ALL_TOOLS = [
    Calculate,
    CancelReservation,
    GetReservationDetails,
    GetUserDetails,
    SendCertificate,
    Think,
    TransferToHumanAgents,
]
