"""Toy retail tools: real names and semantics, in `ALL_TOOLS` order (alphabetical, as upstream)."""

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
            {"expression": {**_STR, "description": "e.g. '2 + 2'"}},
            ["expression"],
        )


class CancelPendingOrder(Tool):
    @staticmethod
    def invoke(data: Dict[str, Any], order_id: str, reason: str) -> str:
        orders = data["orders"]
        if order_id not in orders:
            return "Error: order not found"
        order = orders[order_id]
        if order["status"] != "pending":
            return "Error: non-pending order cannot be cancelled"
        if reason not in ["no longer needed", "ordered by mistake"]:
            return "Error: invalid reason"
        refunds = []
        for payment in order["payment_history"]:
            refund = {
                "transaction_type": "refund",
                "amount": payment["amount"],
                "payment_method_id": payment["payment_method_id"],
            }
            refunds.append(refund)
            if "gift_card" in payment["payment_method_id"]:
                method = data["users"][order["user_id"]]["payment_methods"][payment["payment_method_id"]]
                method["balance"] = round(method["balance"] + payment["amount"], 2)
        order["status"] = "cancelled"
        order["cancel_reason"] = reason
        order["payment_history"].extend(refunds)
        return json.dumps(order)

    @staticmethod
    def get_info() -> Dict[str, Any]:
        return _info(
            "cancel_pending_order",
            "Cancel a pending order after the user confirms.",
            {
                "order_id": _STR,
                "reason": {"type": "string", "enum": ["no longer needed", "ordered by mistake"]},
            },
            ["order_id", "reason"],
        )


class FindUserIdByEmail(Tool):
    @staticmethod
    def invoke(data: Dict[str, Any], email: str) -> str:
        for user_id, profile in data["users"].items():
            if profile["email"].lower() == email.lower():
                return user_id
        return "Error: user not found"

    @staticmethod
    def get_info() -> Dict[str, Any]:
        return _info("find_user_id_by_email", "Find user id by email.", {"email": _STR}, ["email"])


class GetOrderDetails(Tool):
    @staticmethod
    def invoke(data: Dict[str, Any], order_id: str) -> str:
        if order_id in data["orders"]:
            return json.dumps(data["orders"][order_id])
        return "Error: order not found"

    @staticmethod
    def get_info() -> Dict[str, Any]:
        return _info(
            "get_order_details",
            "Get the status and details of an order.",
            {"order_id": {**_STR, "description": "such as '#W0000001'"}},
            ["order_id"],
        )


class GetUserDetails(Tool):
    @staticmethod
    def invoke(data: Dict[str, Any], user_id: str) -> str:
        if user_id in data["users"]:
            return json.dumps(data["users"][user_id])
        return "Error: user not found"

    @staticmethod
    def get_info() -> Dict[str, Any]:
        return _info("get_user_details", "Get the details of a user.", {"user_id": _STR}, ["user_id"])


class ModifyUserAddress(Tool):
    @staticmethod
    def invoke(
        data: Dict[str, Any],
        user_id: str,
        address1: str,
        address2: str,
        city: str,
        state: str,
        country: str,
        zip: str,
    ) -> str:
        if user_id not in data["users"]:
            return "Error: user not found"
        user = data["users"][user_id]
        user["address"] = {
            "address1": address1,
            "address2": address2,
            "city": city,
            "state": state,
            "country": country,
            "zip": zip,
        }
        return json.dumps(user)

    @staticmethod
    def get_info() -> Dict[str, Any]:
        names = ["user_id", "address1", "address2", "city", "state", "country", "zip"]
        return _info(
            "modify_user_address", "Modify the default address of a user.", {n: _STR for n in names}, names
        )


class Think(Tool):
    @staticmethod
    def invoke(data: Dict[str, Any], thought: str) -> str:
        return ""

    @staticmethod
    def get_info() -> Dict[str, Any]:
        return _info(
            "think", "Think about something; no data is read or changed.", {"thought": _STR}, ["thought"]
        )


class TransferToHumanAgents(Tool):
    @staticmethod
    def invoke(data: Dict[str, Any], summary: str) -> str:
        return "Transfer successful"

    @staticmethod
    def get_info() -> Dict[str, Any]:
        return _info(
            "transfer_to_human_agents",
            "Transfer the user to a human agent, with a summary.",
            {"summary": _STR},
            ["summary"],
        )


ALL_TOOLS = [
    Calculate,
    CancelPendingOrder,
    FindUserIdByEmail,
    GetOrderDetails,
    GetUserDetails,
    ModifyUserAddress,
    Think,
    TransferToHumanAgents,
]
