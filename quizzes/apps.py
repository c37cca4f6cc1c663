from django.apps import AppConfig


class QuizzesConfig(AppConfig):
    name = "quizzes"

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from .models import Choice, Question
        from .services import forget_grading_keys

        for model in (Question, Choice):
            post_save.connect(
                forget_grading_keys, sender=model, dispatch_uid=f"grading-keys-{model.__name__}"
            )
            post_delete.connect(
                forget_grading_keys, sender=model, dispatch_uid=f"grading-keys-d-{model.__name__}"
            )
