"""The organisers' questionnaire and closing-date forms, and the delegate's feedback form."""

from __future__ import annotations

from datetime import datetime

from wtforms import BooleanField, DateField, RadioField, SelectField, TimeField
from wtforms.validators import InputRequired

from bookings.evaluation.models import QuestionKind
from bookings.evaluation.service import RATING_WORDS, RATINGS, Answer, Question
from bookings.london import NonexistentLocalTime, london_datetime, to_london
from bookings.web.forms import Form, choices, text_field

# Rows on the organisers' form: the questions so far and room to add.
MAX_QUESTIONS = 12
KIND_CHOICES = choices((kind.value, kind.label) for kind in QuestionKind)


class QuestionsForm(Form):
    """Up to ``MAX_QUESTIONS`` rows of (wording, kind); a row left empty is removed."""

    def rows(self) -> list[tuple[QuestionKind, str]]:
        return [
            (QuestionKind(self[f"kind_{i}"].data or "rating"), self[f"text_{i}"].data or "")
            for i in range(MAX_QUESTIONS)
        ]

    def fill(self, questions: list[Question]) -> None:
        for i, q in enumerate(questions[:MAX_QUESTIONS]):
            self[f"text_{i}"].data = q.text
            self[f"kind_{i}"].data = q.kind.value


for _i in range(MAX_QUESTIONS):
    setattr(QuestionsForm, f"text_{_i}", text_field(f"Question {_i + 1}", 300))
    setattr(
        QuestionsForm, f"kind_{_i}", SelectField(f"Kind of question {_i + 1}", choices=KIND_CHOICES)
    )


class ClosingForm(Form):
    day = DateField("Closing date", validators=[InputRequired(message="Enter the date.")])
    at = TimeField("Closing time", validators=[InputRequired(message="Enter the time.")])

    closes_at: datetime | None = None

    def fill(self, closes_at: datetime) -> None:
        local = to_london(closes_at)
        self.day.data, self.at.data = local.date(), local.time().replace(second=0, microsecond=0)

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        try:
            self.closes_at = london_datetime(self.day.data, self.at.data)
        except NonexistentLocalTime as exc:
            self.at.errors.append(f"{exc}: the clocks go forward then. Choose another time.")
            return False
        return True


class FeedbackForm(Form):
    """Built per questionnaire (``feedback_form``): a rating, or a text and its consent."""

    questions: list[Question]

    def answers(self) -> list[Answer]:
        found = []
        for i, q in enumerate(self.questions):
            if q.kind == QuestionKind.rating:
                found.append(Answer(rating=int(self[f"answer_{i}"].data)))
            else:
                found.append(
                    Answer(text=self[f"answer_{i}"].data or "", may_quote=self[f"quote_{i}"].data)
                )
        return found


def feedback_form(questions: list[Question], **kwargs) -> FeedbackForm:
    class Shaped(FeedbackForm):
        pass

    for i, q in enumerate(questions):
        if q.kind == QuestionKind.rating:
            field = RadioField(
                q.text,
                choices=choices((str(r), RATING_WORDS[r]) for r in RATINGS),
                validators=[InputRequired(message="Choose a rating from 1 to 5.")],
            )
            setattr(Shaped, f"answer_{i}", field)
        else:
            setattr(Shaped, f"answer_{i}", text_field(q.text, 5000, area=True))
            setattr(
                Shaped,
                f"quote_{i}",
                BooleanField("The Board may quote this answer in its reports, without my name"),
            )
    form = Shaped(**kwargs)
    form.questions = questions
    return form
