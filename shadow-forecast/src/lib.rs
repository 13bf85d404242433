//! Forecasting models of Shadow.
