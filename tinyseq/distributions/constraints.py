"""The sets a distribution's parameters and values must lie in, as torch.distributions'
constraints: ``check(value)`` is a bool tensor, True where ``value`` lies in the set."""


class Constraint:
    """A set of values; ``event_dim`` trailing dims are checked together, as one event."""
    event_dim = 0

    def check(self, value):
        raise NotImplementedError

    def __repr__(self):
        return type(self).__name__ + "()"


class Real(Constraint):
    """Any real number: everything but NaN."""

    def check(self, value):
        return value == value


class IndependentReal(Real):
    """Real numbers, checked one row of the last dim at a time (a row is valid when all of it
    is)."""
    event_dim = 1

    def check(self, value):
        return (value == value).all(-1)

    def __repr__(self):
        return "IndependentConstraint(Real(), 1)"


class GreaterThan(Constraint):
    """x > lower_bound."""

    def __init__(self, lower_bound):
        self.lower_bound = lower_bound

    def check(self, value):
        return value > self.lower_bound

    def __repr__(self):
        return f"GreaterThan(lower_bound={self.lower_bound})"


class Interval(Constraint):
    """lower_bound <= x <= upper_bound."""

    def __init__(self, lower_bound, upper_bound):
        self.lower_bound, self.upper_bound = lower_bound, upper_bound

    def check(self, value):
        return (value >= self.lower_bound) & (value <= self.upper_bound)

    def __repr__(self):
        return f"Interval(lower_bound={self.lower_bound}, upper_bound={self.upper_bound})"


class IntegerInterval(Interval):
    """Whole numbers lower_bound <= x <= upper_bound."""

    def check(self, value):
        return (value % 1 == 0) & super().check(value)

    def __repr__(self):
        return "Integer" + super().__repr__()


class Boolean(Constraint):
    """x in {0, 1}."""

    def check(self, value):
        return (value == 0) | (value == 1)


class Simplex(Constraint):
    """Rows of the last dim that are probabilities: non-negative, summing to 1 (to 1e-6)."""
    event_dim = 1

    def check(self, value):
        return (value >= 0).all(-1) & ((value.sum(-1) - 1).abs() < 1e-6)


class OneHot(Constraint):
    """Rows of the last dim that are 0 but for a single 1."""
    event_dim = 1

    def check(self, value):
        return ((value == 0) | (value == 1)).all(-1) & (value.sum(-1) == 1)


real = Real()
independent_real = IndependentReal()
positive = GreaterThan(0.0)
unit_interval = Interval(0.0, 1.0)
boolean = Boolean()
simplex = Simplex()
one_hot = OneHot()
