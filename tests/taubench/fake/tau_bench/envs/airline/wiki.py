WIKI = """# Toy airline agent policy
The current time is 2024-05-15 15:00:00 EST.
- Get the user id first.
- Basic economy reservations without insurance cannot be cancelled.
- Compensation certificates are offered only for business-class complaints.
"""
