"""A customer's card (`/customer`, the buttons that open it, a suggestion's record): a company or one person.

Either way the card gathers the same things: the deals and open tasks the viewer sees (crm_core.policy), the
latest interactions, the people's support tickets and their latest satisfaction rating. A customer who came
through the bot is a person with no company: her lead deal and call-back task are found by her, not by a company.
A person is also opened by her number ("#5", as lists and notices show her): `person_numbered`.
"""

from __future__ import annotations

from crm_core.errors import NotFound
from crm_core.policy import Person
from crm_core.schemas import Customer360, Person360
from crm_core.services import Services

_MAX_KEY = 2**31  # PostgreSQL's INTEGER keys end below it

class CustomerFlow:
    """Read a customer's card."""

    def __init__(self, *, services: Services) -> None:
        self.services = services

    async def company(self, company_id: int, *, viewer: Person) -> Customer360:
        """Return the company's card: its people, deals, interactions, open tasks, and its people's tickets."""
        view = await self.services.directory.customer_360(company_id, viewer=viewer)
        people = [c.id for c in view.contacts]
        return view.model_copy(update={"tickets": await self.services.support.tickets_of(people),
                                       "rated": await self.services.support.latest_rated(people)})

    async def person(self, contact_id: int, *, viewer: Person) -> Person360:
        """Return a person's card: her open deals, open tasks, tickets, latest rating and interactions."""
        view = await self.services.directory.person_360(contact_id, viewer=viewer)
        return view.model_copy(update={"tickets": await self.services.support.tickets_of([contact_id]),
                                       "rated": await self.services.support.latest_rated([contact_id])})

    async def person_numbered(self, contact_id: int, *, viewer: Person) -> Person360 | None:
        """Return the card of the person numbered `contact_id` ("liên hệ #5"), or None when there is no such person.

        The same card, seen the same way, as `person`: every staff member may open any person, her deals and tasks
        follow crm_core.policy. A number beyond the store's keys (PostgreSQL's INTEGER) is nobody, not an error.
        """
        if not 0 < contact_id < _MAX_KEY:
            return None
        try:
            return await self.person(contact_id, viewer=viewer)
        except NotFound:  # only her own row can be missing: the rest of the card is lists
            return None
