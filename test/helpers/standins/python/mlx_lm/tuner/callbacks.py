# mlx_lm/tuner/callbacks.py (d78bf58): the callback base class and get_reporting_callbacks, which
# returns None unless report_to names a tracker (wandb, swanlab: not played here).


class TrainingCallback:
    def on_train_loss_report(self, train_info: dict):
        """Called to report training loss at specified intervals."""
        pass

    def on_val_loss_report(self, val_info: dict):
        """Called to report validation loss at specified intervals or the beginning."""
        pass


def get_reporting_callbacks(report_to=None, project_name=None, log_dir=None, config=None):
    if report_to is None or report_to == "":
        return None
    raise ValueError(f"{report_to} callback doesn't exist choose from wandb, swanlab")
