from tau_bench.types import Action, Task

TASKS_TRAIN = [
    Task(
        annotator="synthetic",
        user_id="carol_white_3000",
        instruction="Your email is carol@example.com. You want to cancel order #W0000004 because you ordered it by mistake.",
        actions=[
            Action(
                name="cancel_pending_order", kwargs={"order_id": "#W0000004", "reason": "ordered by mistake"}
            ),
        ],
        outputs=[],
    ),
    Task(
        annotator="synthetic",
        user_id="alice_smith_1000",
        instruction="Your email is alice@example.com. You moved to 5 Bay Rd, Rye, NY 10580, USA and want your address updated.",
        actions=[
            Action(
                name="modify_user_address",
                kwargs={
                    "user_id": "alice_smith_1000",
                    "address1": "5 Bay Rd",
                    "address2": "",
                    "city": "Rye",
                    "state": "NY",
                    "country": "USA",
                    "zip": "10580",
                },
            ),
        ],
        outputs=[],
    ),
    Task(
        annotator="synthetic",
        user_id="bob_jones_2000",
        instruction="Your email is bob@example.com. You want to cancel order #W0000003 because you no longer need it.",
        actions=[
            Action(
                name="cancel_pending_order", kwargs={"order_id": "#W0000003", "reason": "no longer needed"}
            ),
        ],
        outputs=[],
    ),
]
