//===- Kernels.h - the maps of the reference executor and their VJPs -*-C++-*-//
//
// Plain, readable implementations: activations are batch x features matrices
// (row-major, features in CHW order), weights are flat row-major vectors with
// their dims. Each forward has a backward that returns the input gradient and
// accumulates the parameter gradients. Convolutions go through im2col and
// Eigen products, which keeps them short and fast enough for an oracle.
//
//===----------------------------------------------------------------------===//

#ifndef FSNN_RUNTIME_REFERENCE_KERNELS_H
#define FSNN_RUNTIME_REFERENCE_KERNELS_H

#include <Eigen/Dense>

#include <cstdint>
#include <vector>

namespace fsnn::reference {

template <typename T>
using Matrix =
    Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T> using Vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;
template <typename T> using MatrixMap = Eigen::Map<Matrix<T>>;
template <typename T> using ConstMatrixMap = Eigen::Map<const Matrix<T>>;

/// Geometry of a 2-D convolution (or of the conv whose adjoint a transposed
/// conv is): input C x H x W, kernel kh x kw, output Ho x Wo.
struct ConvGeometry {
  int64_t channels, height, width, kernelH, kernelW, strideH, strideW, padH,
      padW, outH, outW;
  int64_t patch() const { return channels * kernelH * kernelW; }
  int64_t outputs() const { return outH * outW; }
};

/// Visits every tap of a convolution that falls inside the image (padding
/// taps are skipped): the callback receives the im2col row and column and the
/// flat index of the image element within one sample.
template <typename Visit>
void forEachConvTap(const ConvGeometry &g, Visit &&visit) {
  for (int64_t c = 0; c < g.channels; ++c)
    for (int64_t ki = 0; ki < g.kernelH; ++ki)
      for (int64_t kj = 0; kj < g.kernelW; ++kj) {
        int64_t row = (c * g.kernelH + ki) * g.kernelW + kj;
        for (int64_t oi = 0; oi < g.outH; ++oi) {
          int64_t i = oi * g.strideH - g.padH + ki;
          if (i < 0 || i >= g.height)
            continue;
          for (int64_t oj = 0; oj < g.outW; ++oj) {
            int64_t j = oj * g.strideW - g.padW + kj;
            if (j >= 0 && j < g.width)
              visit(row, oi * g.outW + oj, (c * g.height + i) * g.width + j);
          }
        }
      }
}

/// Unfolds one sample (C x H x W) into columns (C*kh*kw x Ho*Wo).
template <typename T>
void im2col(const T *image, const ConvGeometry &g, Matrix<T> &columns) {
  columns.setZero(g.patch(), g.outputs());
  forEachConvTap(g, [&](int64_t row, int64_t column, int64_t pixel) {
    columns(row, column) = image[pixel];
  });
}

/// The adjoint of im2col: adds columns back into an image.
template <typename T>
void col2im(const Matrix<T> &columns, const ConvGeometry &g, T *image) {
  forEachConvTap(g, [&](int64_t row, int64_t column, int64_t pixel) {
    image[pixel] += columns(row, column);
  });
}

/// y = x Wᵀ + b. W is out x in.
template <typename T>
Matrix<T> linearForward(const Matrix<T> &x, const Matrix<T> &weight,
                        const Vector<T> *bias) {
  // Row by row, so that a sample's result does not depend on the batch it
  // is in (a batched product may change the summation order with the size).
  Matrix<T> y(x.rows(), weight.rows());
  for (int64_t n = 0; n < x.rows(); ++n) {
    y.row(n).noalias() = x.row(n) * weight.transpose();
    if (bias)
      y.row(n) += bias->transpose();
  }
  return y;
}

template <typename T>
Matrix<T> linearBackward(const Matrix<T> &x, const Matrix<T> &weight,
                         const Matrix<T> &dy, Matrix<T> *dWeight,
                         Vector<T> *dBias) {
  if (dWeight)
    *dWeight += dy.transpose() * x;
  if (dBias)
    *dBias += dy.colwise().sum().transpose();
  return dy * weight;
}

/// Conv2d: weight O x (C*kh*kw) as a matrix; per sample y = W col(x) + b.
template <typename T>
Matrix<T> conv2dForward(const Matrix<T> &x, const Matrix<T> &weight,
                        const Vector<T> *bias, const ConvGeometry &g) {
  int64_t out = weight.rows();
  Matrix<T> y(x.rows(), out * g.outputs());
  Matrix<T> columns;
  for (int64_t n = 0; n < x.rows(); ++n) {
    im2col(x.row(n).data(), g, columns);
    MatrixMap<T> yn(y.row(n).data(), out, g.outputs());
    yn.noalias() = weight * columns;
    if (bias)
      yn.colwise() += *bias;
  }
  return y;
}

template <typename T>
Matrix<T> conv2dBackward(const Matrix<T> &x, const Matrix<T> &weight,
                         const Matrix<T> &dy, const ConvGeometry &g,
                         Matrix<T> *dWeight, Vector<T> *dBias) {
  int64_t out = weight.rows();
  Matrix<T> dx = Matrix<T>::Zero(x.rows(), x.cols());
  Matrix<T> columns;
  for (int64_t n = 0; n < x.rows(); ++n) {
    ConstMatrixMap<T> dyn(dy.row(n).data(), out, g.outputs());
    if (dWeight) {
      im2col(x.row(n).data(), g, columns);
      *dWeight += dyn * columns.transpose();
    }
    if (dBias)
      *dBias += dyn.rowwise().sum();
    Matrix<T> dColumns = weight.transpose() * dyn;
    col2im(dColumns, g, dx.row(n).data());
  }
  return dx;
}

/// ConvTranspose2d: the adjoint of a conv from the output (Cout x Ho x Wo,
/// geometry `g`, whose "input" it is) to the input (Cin x H x W, the conv's
/// output). weight is Cin x (Cout*kh*kw).
template <typename T>
Matrix<T> convTranspose2dForward(const Matrix<T> &x, const Matrix<T> &weight,
                                 const Vector<T> *bias, const ConvGeometry &g) {
  int64_t in = weight.rows();
  int64_t outSize = g.channels * g.height * g.width;
  Matrix<T> y = Matrix<T>::Zero(x.rows(), outSize);
  for (int64_t n = 0; n < x.rows(); ++n) {
    ConstMatrixMap<T> xn(x.row(n).data(), in, g.outputs());
    Matrix<T> columns = weight.transpose() * xn;
    col2im(columns, g, y.row(n).data());
    if (bias) {
      MatrixMap<T> yn(y.row(n).data(), g.channels, g.height * g.width);
      yn.colwise() += *bias;
    }
  }
  return y;
}

template <typename T>
Matrix<T> convTranspose2dBackward(const Matrix<T> &x, const Matrix<T> &weight,
                                  const Matrix<T> &dy, const ConvGeometry &g,
                                  Matrix<T> *dWeight, Vector<T> *dBias) {
  int64_t in = weight.rows();
  Matrix<T> dx(x.rows(), x.cols());
  Matrix<T> columns;
  for (int64_t n = 0; n < x.rows(); ++n) {
    im2col(dy.row(n).data(), g, columns);
    MatrixMap<T> dxn(dx.row(n).data(), in, g.outputs());
    dxn.noalias() = weight * columns;
    if (dWeight) {
      ConstMatrixMap<T> xn(x.row(n).data(), in, g.outputs());
      *dWeight += xn * columns.transpose();
    }
    if (dBias) {
      ConstMatrixMap<T> dyn(dy.row(n).data(), g.channels, g.height * g.width);
      *dBias += dyn.rowwise().sum();
    }
  }
  return dx;
}

/// Per-channel statistics of a batch x (C * spatial) matrix.
template <typename T>
void channelMoments(const Matrix<T> &x, int64_t channels, Vector<T> &mean,
                    Vector<T> &biasedVariance) {
  int64_t spatial = x.cols() / channels;
  double count = double(x.rows()) * spatial;
  mean.setZero(channels);
  biasedVariance.setZero(channels);
  for (int64_t n = 0; n < x.rows(); ++n)
    for (int64_t c = 0; c < channels; ++c)
      mean(c) += x.row(n).segment(c * spatial, spatial).sum();
  mean /= T(count);
  for (int64_t n = 0; n < x.rows(); ++n)
    for (int64_t c = 0; c < channels; ++c)
      biasedVariance(c) +=
          (x.row(n).segment(c * spatial, spatial).array() - mean(c))
              .square()
              .sum();
  biasedVariance /= T(count);
}

/// y = gamma (x - mean) * invStd + beta per channel.
template <typename T>
Matrix<T> normalizeForward(const Matrix<T> &x, const Vector<T> &gamma,
                           const Vector<T> &beta, const Vector<T> &mean,
                           const Vector<T> &invStd) {
  int64_t channels = gamma.size(), spatial = x.cols() / channels;
  Matrix<T> y(x.rows(), x.cols());
  for (int64_t n = 0; n < x.rows(); ++n)
    for (int64_t c = 0; c < channels; ++c)
      y.row(n).segment(c * spatial, spatial) =
          ((x.row(n).segment(c * spatial, spatial).array() - mean(c)) *
               (gamma(c) * invStd(c)) +
           beta(c))
              .matrix();
  return y;
}

/// Per-channel sums of dy and of dy * x̂, x̂ = (x - mean) * invStd: the
/// gradients of beta and gamma, and what training-mode BN's dx needs.
template <typename T>
void channelGradientSums(const Matrix<T> &x, const Matrix<T> &dy,
                         const Vector<T> &mean, const Vector<T> &invStd,
                         Vector<T> &sumDy, Vector<T> &sumDyXhat) {
  int64_t channels = mean.size(), spatial = x.cols() / channels;
  sumDy.setZero(channels);
  sumDyXhat.setZero(channels);
  for (int64_t n = 0; n < x.rows(); ++n)
    for (int64_t c = 0; c < channels; ++c) {
      auto dyc = dy.row(n).segment(c * spatial, spatial).array();
      auto xhat = (x.row(n).segment(c * spatial, spatial).array() - mean(c)) *
                  invStd(c);
      sumDy(c) += dyc.sum();
      sumDyXhat(c) += (dyc * xhat).sum();
    }
}

/// Backward of batch norm. With `batchStatistics` the mean and variance are
/// the batch's own and so depend on x (training mode); otherwise they are
/// held fixed (running or given statistics).
template <typename T>
Matrix<T> batchNormBackward(const Matrix<T> &x, const Matrix<T> &dy,
                            const Vector<T> &gamma, const Vector<T> &mean,
                            const Vector<T> &invStd, bool batchStatistics,
                            Vector<T> *dGamma, Vector<T> *dBeta) {
  int64_t channels = gamma.size(), spatial = x.cols() / channels;
  Vector<T> sumDy, sumDyXhat;
  channelGradientSums<T>(x, dy, mean, invStd, sumDy, sumDyXhat);
  if (dGamma)
    *dGamma += sumDyXhat;
  if (dBeta)
    *dBeta += sumDy;
  T count = T(x.rows() * spatial);
  Matrix<T> dx(x.rows(), x.cols());
  for (int64_t n = 0; n < x.rows(); ++n)
    for (int64_t c = 0; c < channels; ++c) {
      auto dyc = dy.row(n).segment(c * spatial, spatial).array();
      T scale = gamma(c) * invStd(c);
      if (!batchStatistics) {
        dx.row(n).segment(c * spatial, spatial) = (dyc * scale).matrix();
        continue;
      }
      auto xhat = (x.row(n).segment(c * spatial, spatial).array() - mean(c)) *
                  invStd(c);
      dx.row(n).segment(c * spatial, spatial) =
          ((count * dyc - sumDy(c) - xhat * sumDyXhat(c)) * (scale / count))
              .matrix();
    }
  return dx;
}

/// Visits every (input element, output element) pair of an average pooling
/// window without padding, over channels x (C*H*W); the callback receives the
/// flat input and output indices within one sample.
template <typename Visit>
void forEachPoolTap(int64_t channels, int64_t height, int64_t width, int64_t kh,
                    int64_t kw, int64_t sh, int64_t sw, int64_t outH,
                    int64_t outW, Visit &&visit) {
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t oi = 0; oi < outH; ++oi)
      for (int64_t oj = 0; oj < outW; ++oj)
        for (int64_t i = 0; i < kh; ++i)
          for (int64_t j = 0; j < kw; ++j)
            visit((c * height + oi * sh + i) * width + oj * sw + j,
                  (c * outH + oi) * outW + oj);
}

/// Average pooling without padding over batch x (C*H*W).
template <typename T>
Matrix<T> avgPoolForward(const Matrix<T> &x, int64_t channels, int64_t height,
                         int64_t width, int64_t kh, int64_t kw, int64_t sh,
                         int64_t sw, int64_t outH, int64_t outW) {
  Matrix<T> y = Matrix<T>::Zero(x.rows(), channels * outH * outW);
  for (int64_t n = 0; n < x.rows(); ++n)
    forEachPoolTap(channels, height, width, kh, kw, sh, sw, outH, outW,
                   [&](int64_t in, int64_t out) { y(n, out) += x(n, in); });
  // Scaling the window sum once keeps the rounding of a plain mean.
  return y * (T(1) / T(kh * kw));
}

template <typename T>
Matrix<T> avgPoolBackward(const Matrix<T> &dy, int64_t channels, int64_t height,
                          int64_t width, int64_t kh, int64_t kw, int64_t sh,
                          int64_t sw, int64_t outH, int64_t outW) {
  Matrix<T> dx = Matrix<T>::Zero(dy.rows(), channels * height * width);
  T scale = T(1) / T(kh * kw);
  for (int64_t n = 0; n < dy.rows(); ++n)
    forEachPoolTap(
        channels, height, width, kh, kw, sh, sw, outH, outW,
        [&](int64_t in, int64_t out) { dx(n, in) += dy(n, out) * scale; });
  return dx;
}

} // namespace fsnn::reference

#endif // FSNN_RUNTIME_REFERENCE_KERNELS_H
