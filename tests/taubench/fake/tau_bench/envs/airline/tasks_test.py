from tau_bench.types import Action, Task

TASKS = [
    Task(
        annotator="0",
        user_id="mia_li_1000",
        instruction="Your user id is mia_li_1000. You want to cancel reservation ABC123.",
        actions=[
            Action(name="get_user_details", kwargs={"user_id": "mia_li_1000"}),
            Action(name="get_reservation_details", kwargs={"reservation_id": "ABC123"}),
            Action(name="cancel_reservation", kwargs={"reservation_id": "ABC123"}),
        ],
        outputs=[],
    ),
    Task(
        annotator="0",
        user_id="noah_kim_2000",
        instruction="Your user id is noah_kim_2000. Your business flight GHI789 was awful; you want compensation.",
        actions=[
            Action(name="get_reservation_details", kwargs={"reservation_id": "GHI789"}),
            Action(name="send_certificate", kwargs={"user_id": "noah_kim_2000", "amount": 100}),
        ],
        outputs=[],
    ),
    Task(
        annotator="0",
        user_id="mia_li_1000",
        instruction="Your user id is mia_li_1000. You want to cancel DEF456 (basic economy, no insurance).",
        actions=[],
        outputs=[],
    ),
]
