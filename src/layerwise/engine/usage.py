"""Using a network: training it, predicting with it (raw rows through its saved preprocessing), evaluating it."""

from __future__ import annotations

import numpy as np

from ..layers.dense_stack import DenseStack


class Usage:
    """The user-facing part of :class:`~layerwise.engine.network.Network` (a base class of it): ``fit``,
    ``predict_proba``, ``predict`` and ``evaluate`` on top of the forward pass."""

    # -------------------------------------------------------------- predict
    @property
    def is_classifier(self) -> bool:
        return self.loss_fn.task == "classification"

    def predict_proba(self, X) -> np.ndarray:
        """Return the output activations ``A<L>`` (probabilities for classifiers).

        With ``preprocessing`` set (a model trained by ``layerwise train``),
        ``X`` holds raw feature rows, which its input steps turn into the
        network's inputs first; :meth:`forward` never applies them.
        """
        if self.preprocessing is not None:
            X = self.preprocessing.transform_inputs(X)
        return self._output(self.check_X(X))

    def _output(self, X: np.ndarray) -> np.ndarray:
        """``A<L>`` of checked inputs at prediction time, without a cache.

        A few rows through a stack of Dense layers run as one compiled pass (:meth:`DenseStack.output
        <layerwise.layers.dense_stack.DenseStack.output>`), which agrees with the layers' own ``predict``
        to a few units in the last place (tested).
        """
        compiled = self._compiled_forward()
        if compiled is not None and compiled.predicts(X):
            return compiled.output(X)
        return self._layers_output(X)

    def _layers_output(self, X: np.ndarray) -> np.ndarray:
        """``A<L>`` through each layer's ``predict``: the readable form of :meth:`_output`."""
        A = self._examples(X)
        for layer in self.layers:
            A = layer.predict(A)
        return A

    def _compiled_forward(self) -> DenseStack | None:
        """The compiled forward pass of this build of the network, made on first use (None where it does not
        cover the network)."""
        made = self.__dict__.get("_compiled")
        if made is None or made[0] is not self.table:
            made = self._compiled = (self.table, DenseStack.for_prediction(self))
        return made[1]

    def predict(self, X) -> np.ndarray:
        """Predict targets.

        Cross-entropy networks return class indices (or ``classes`` labels
        when set); binary cross-entropy returns 0/1 of shape ``(m,)`` for one
        output and ``(m, K)`` for multi-label; regression returns ``A<L>``,
        mapped back to the scale of the raw targets by the inverse of any
        target ``preprocessing`` (in the network's dtype). Input
        ``preprocessing`` applies as in :meth:`predict_proba`.
        """
        AL = self.predict_proba(X)
        if not self.is_classifier and self.preprocessing is not None and self.preprocessing.targets:
            return self.preprocessing.inverse_targets(AL).astype(self.dtype)
        decided = self.loss_fn.decide(AL)
        if not self.is_classifier or self.classes is None:
            return decided
        return np.asarray(self.classes)[decided]

    def fit(self, X, Y, epochs: int = 10, batch_size: int = 32, optimizer="adam", *, lr: float | None = None,
            schedule=None, validation_data=None, validation_split: float = 0.0, shuffle: bool = True,
            callbacks=None, class_weight=None, sample_weight=None, early_stopping=None,
            clip_norm: float | None = None, l2: float | None = None, checkpoint=None, resume_from=None,
            diagnostics=False, distributed=None, verbose: int = 1):
        """Train by mini-batch backpropagation; every option is described at :func:`layerwise.train.loop.fit`.

        Parameters
        ----------
        X : array-like of shape (m, n_0)
        Y : array-like
            Targets, as for :meth:`backward`.
        epochs : int, default 10
        batch_size : int, default 32
            The last, partial batch of each epoch is used too.
        optimizer : str or Optimizer, default "adam"
            "sgd", "rmsprop", "adam", "adamw" or an optimizer object.
        lr, schedule, validation_data, validation_split, shuffle, callbacks, class_weight, sample_weight, \
early_stopping, clip_norm, l2, checkpoint, resume_from, diagnostics, distributed, verbose
            As :func:`layerwise.train.loop.fit`; ``distributed="mpi"`` trains data-parallel over the
            ranks of ``mpiexec`` (see :mod:`layerwise.distributed`).

        Returns
        -------
        History
        """
        from ..train.loop import fit

        return fit(self, X, Y, epochs=epochs, batch_size=batch_size, optimizer=optimizer, lr=lr, schedule=schedule,
                   validation_data=validation_data, validation_split=validation_split, shuffle=shuffle,
                   callbacks=callbacks, class_weight=class_weight, sample_weight=sample_weight,
                   early_stopping=early_stopping, clip_norm=clip_norm, l2=l2, checkpoint=checkpoint,
                   resume_from=resume_from, diagnostics=diagnostics, distributed=distributed, verbose=verbose)

    def evaluate(self, X, Y, sample_weight=None) -> dict:
        """The loss and metrics of the network on labelled data.

        Parameters
        ----------
        X : array-like of shape (m, n_0)
        Y : array-like
            Targets, as for :meth:`backward`.
        sample_weight : array-like of shape (m,), optional
            Per-example weights of the loss and of every metric.

        Returns
        -------
        dict
            ``loss`` (the data loss, without the L2 penalty); ``accuracy`` for
            classifiers; ``mse``, ``mae`` and ``r2`` (averaged over the outputs,
            as scikit-learn does) otherwise.
        """
        X = self.check_X(X)
        Y = self.check_Y(Y, X.shape[0])
        w = self.check_sample_weight(sample_weight, X.shape[0])
        AL = self._output(X)
        logs = {"loss": float(self.loss_fn.value(AL, Y, w))}
        if self.is_classifier:
            hits = self.loss_fn.labels(AL) == self.loss_fn.labels(Y)
            logs["accuracy"] = float(np.average(hits if hits.ndim == 1 else hits.all(axis=1), weights=w))
        else:
            error = AL.astype(np.float64) - Y
            mean = np.average(Y, axis=0, weights=w)
            total = np.average(np.square(Y - mean), axis=0, weights=w)
            residual = np.average(np.square(error), axis=0, weights=w)
            logs["mse"] = float(residual.mean())
            logs["mae"] = float(np.average(np.abs(error), axis=0, weights=w).mean())
            logs["r2"] = float(np.mean(np.where(total > 0, 1 - residual / np.where(total > 0, total, 1), 0.0)))
        return logs
