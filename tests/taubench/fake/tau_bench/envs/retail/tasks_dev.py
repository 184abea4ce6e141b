from tau_bench.types import Action, Task

TASKS_DEV = [
    Task(
        annotator="",
        user_id="alice_smith_1000",
        instruction="Your email is alice@example.com. You want to know what you paid for order #W0000002.",
        actions=[Action(name="get_order_details", kwargs={"order_id": "#W0000002"})],
        outputs=["120.5"],
    ),
]
