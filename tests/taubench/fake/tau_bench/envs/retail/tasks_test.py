from tau_bench.types import Action, Task

TASKS_TEST = [
    Task(
        annotator="0",
        user_id="alice_smith_1000",
        instruction="Your email is alice@example.com. You want to cancel order #W0000001 because you no longer need it.",
        actions=[
            Action(name="find_user_id_by_email", kwargs={"email": "alice@example.com"}),
            Action(name="get_order_details", kwargs={"order_id": "#W0000001"}),
            Action(
                name="cancel_pending_order", kwargs={"order_id": "#W0000001", "reason": "no longer needed"}
            ),
        ],
        outputs=[],
    ),
    Task(
        annotator="0",
        user_id="bob_jones_2000",
        instruction="Your email is bob@example.com. You want to know how much you paid for order #W0000003.",
        actions=[
            Action(name="find_user_id_by_email", kwargs={"email": "bob@example.com"}),
            Action(name="get_order_details", kwargs={"order_id": "#W0000003"}),
        ],
        outputs=["1045"],
    ),
    Task(
        annotator="0",
        user_id="carol_white_3000",
        instruction="Your email is carol@example.com. You want to cancel order #W0000005, which is already processed.",
        actions=[
            Action(name="find_user_id_by_email", kwargs={"email": "carol@example.com"}),
            Action(name="get_order_details", kwargs={"order_id": "#W0000005"}),
        ],
        outputs=[],
    ),
    Task(
        annotator="0",
        user_id="bob_jones_2000",
        instruction="Your email is bob@example.com. You moved to 9 Elm St, Troy, NY 12180, USA and want your address updated.",
        actions=[
            Action(name="find_user_id_by_email", kwargs={"email": "bob@example.com"}),
            Action(
                name="modify_user_address",
                kwargs={
                    "user_id": "bob_jones_2000",
                    "address1": "9 Elm St",
                    "address2": "",
                    "city": "Troy",
                    "state": "NY",
                    "country": "USA",
                    "zip": "12180",
                },
            ),
        ],
        outputs=[],
    ),
    Task(
        annotator="0",
        user_id="alice_smith_1000",
        instruction="Your email is alice@example.com. You insist on speaking to a human about a damaged parcel.",
        actions=[
            Action(name="find_user_id_by_email", kwargs={"email": "alice@example.com"}),
            Action(
                name="transfer_to_human_agents",
                kwargs={"summary": "User wants a human for a damaged parcel."},
            ),
        ],
        outputs=[],
    ),
]
